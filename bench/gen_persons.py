#!/usr/bin/env python3
"""Writes a GeoJSON FeatureCollection of N persons for measuring `xiaonaod import`.

Usage: python3 bench/gen_persons.py [N] > /tmp/persons.geojson   (N defaults to 1000000)

Deterministic (fixed seed): Chinese names, one or two mobile numbers, an address id out of
200,000, and flags at rough real-world rates (10% floating, 4% elderly living alone, ...).
Not the demo county (which has its own generator): only a file of the same shape and size.
"""
import json
import random
import sys

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红建华文辉力斌宇浩凯晨欣怡梓涵子轩雨欣佳琪"
FLAGS = [("floating", 0.10), ("elderly_alone", 0.04), ("minor", 0.18), ("disabled", 0.02),
         ("mental_illness", 0.004), ("person_of_interest", 0.003)]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
    rnd = random.Random(20261126)
    out = sys.stdout
    out.write('{"type":"FeatureCollection","features":[\n')
    for i in range(n):
        name = rnd.choice(SURNAMES) + "".join(rnd.choice(GIVEN) for _ in range(rnd.choice((1, 2))))
        phones = ["1%d%09d" % (rnd.choice((3, 5, 8, 9)), rnd.randrange(10**9))]
        if rnd.random() < 0.15:
            phones.append("+86 1%d%09d" % (rnd.choice((3, 5, 8)), rnd.randrange(10**9)))
        props = {
            "id": "P%07d" % i,
            "name": name,
            "id_number": "3311%02d19%02d%02d%02d%04d" % (rnd.randrange(1, 30), rnd.randrange(40, 100),
                                                        rnd.randrange(1, 13), rnd.randrange(1, 29), rnd.randrange(10000)),
            "phone": phones if len(phones) > 1 else phones[0],
            "address_id": "A%06d" % rnd.randrange(200000),
            "flags": [f for f, rate in FLAGS if rnd.random() < rate],
        }
        feature = {"type": "Feature", "geometry": None, "properties": props}
        out.write(json.dumps(feature, ensure_ascii=False, separators=(",", ":")))
        out.write(",\n" if i + 1 < n else "\n")
    out.write("]}\n")


if __name__ == "__main__":
    main()
