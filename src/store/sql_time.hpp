#pragma once
/// SQL text shared by the store's readers: a timestamptz column rendered by the database in the
/// API's RFC 3339 UTC form (microseconds, "Z"), so JSON built in SQL needs no conversion.
#define XN_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
