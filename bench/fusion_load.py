#!/usr/bin/env python3
"""Posts alerts spread over the synthetic county (bench/fusion_bench_county.sql) at a fixed rate
and prints the server's xiaonao_fusion_seconds histogram afterwards (docs/PERFORMANCE.md,
"Fusion"). Usage: fusion_load.py URL API_KEY RATE SECONDS [THREADS]
Alerts: 70% with a location, 10% a marker, 10% an exact address, 5% an alias, 5% a subject phone."""
import json, random, sys, threading, time, urllib.request

url, key, rate, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
threads = int(sys.argv[5]) if len(sys.argv) > 5 else 16
rng = random.Random(20261126)
cats = ["theft", "fraud", "dispute", "noise", "traffic_accident", "help", "assault", "lost_property"]
roads = ['中山', '解放', '人民', '丽阳', '大众', '紫金', '白云', '括苍']
lock = threading.Lock()
n = [0]
status = {}

def alert(i):
    r = rng.random()
    a = {"source": "110", "source_ref": "bench-%d-%d" % (int(time.time()), i),
         "received_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
         "category": rng.choice(cats), "caller": {"phone": "139%08d" % rng.randrange(1, 1000000)}}
    if r < 0.70:
        a["location"] = {"lon": 119.5 + rng.random() * 0.5, "lat": 28.0 + rng.random() * 0.3}
    elif r < 0.80:
        a["marker"] = "M%d" % rng.randrange(1, 221)
    elif r < 0.90:
        k = rng.randrange(1, 200001)
        a["address"] = "丽水市莲都区%s路%d号" % (roads[k % 8], k // 8)
    elif r < 0.95:
        a["address"] = "别名%d" % rng.randrange(1, 200001)
    else:
        a["subject"] = {"phone": "139%08d" % rng.randrange(1, 1000001)}
    return a

def worker(start, interval, count):
    for j in range(count):
        due = start + j * interval
        d = due - time.time()
        if d > 0:
            time.sleep(d)
        with lock:
            i = n[0]; n[0] += 1
            body = json.dumps(alert(i)).encode()
        req = urllib.request.Request(url + "/api/v1/alerts", body, {"Content-Type": "application/json",
                                                                     "Authorization": "Bearer " + key})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                s = r.status
        except urllib.error.HTTPError as e:
            s = e.code
        with lock:
            status[s] = status.get(s, 0) + 1

total = int(rate * seconds)
per = total // threads
start = time.time() + 0.5
ts = [threading.Thread(target=worker, args=(start + k / rate, threads / rate, per)) for k in range(threads)]
for t in ts: t.start()
for t in ts: t.join()
print("posted", sum(status.values()), "in", round(time.time() - start, 1), "s; statuses", status)
time.sleep(2)
req = urllib.request.Request(url + "/metrics", headers={"Authorization": "Bearer " + key})
for line in urllib.request.urlopen(req).read().decode().splitlines():
    if line.startswith("xiaonao_fusion_seconds"):
        print(line)
