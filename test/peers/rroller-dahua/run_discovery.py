"""camgate's driver for rroller/dahua's DHDiscover probe: `run_discovery.py <address>`.
Asks one address to identify itself (UDP 37810, no credentials); prints the JSON it got ({} for nothing)."""
import asyncio
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from custom_components.dahua.discovery import async_probe  # noqa: E402

print(json.dumps(asyncio.run(async_probe(sys.argv[1], timeout=5.0))))
