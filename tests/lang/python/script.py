# script.py - `kernless run` and python3 must print the same for this.
import sys, json, re, hashlib, zlib, decimal, datetime, struct, base64
data = sys.stdin.read()
print("args", sys.argv[1:])
print(1 / 3, 1e21, 2 ** 64, -0.0, 0.1 + 0.2, 5e-7, float("nan"), -float("inf"))
print([1, "a", {"b": None, "c": (True, None)}], "ünï ✓", len(data.splitlines()))
print(json.dumps({"a": [1, 2.5, "é"]}), re.sub(r"\d+", "#", "a1b22c"), hashlib.sha256(b"x").hexdigest())
print(zlib.crc32(b"abc"), zlib.decompress(zlib.compress(b"hi" * 100)) == b"hi" * 100, hashlib.md5(b"").hexdigest())
print(decimal.Decimal("1.1") + decimal.Decimal("2.2"), datetime.date(2024, 2, 29) + datetime.timedelta(days=1))
print(struct.pack("<IH", 258, 7), base64.b64encode(b"\x00\xff"), round(2.675, 2), f"{1234567.891:,.2f}")
sys.exit(3)
