-- 020: the intake writer inserts a batch's alerts last, already in the incident the merge
-- decision chose (docs/architecture.md, "Request flow"). The key check before it is done in the
-- merge look-up's snapshot, so a retry of the same alert committed by another writer in between
-- is found only by the insert's ON CONFLICT; the insert then calls this function, which ends
-- the batch's transaction with a serialization failure, and the writer runs the batch again
-- (where the look-up answers the retry with the first request's ids).
CREATE OR REPLACE FUNCTION xiaonao_retry(message text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'serialization_failure', MESSAGE = message;
END
$$;
