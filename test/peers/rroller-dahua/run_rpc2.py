"""camgate's driver for rroller/dahua's DahuaRpc2Client: `run_rpc2.py <host> <port> <user> <password>`.
Logs in, makes a few calls and logs out; prints one JSON object with what it got, or the error."""
import asyncio
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import aiohttp  # noqa: E402

from custom_components.dahua.rpc2 import DahuaRpc2Client  # noqa: E402


async def main(host, port, user, password):
    async with aiohttp.ClientSession() as session:
        client = DahuaRpc2Client(user, password, host, int(port), 554, session)
        out = {}
        try:
            await client.login()
            out["serial"] = await client.get_serial_number()
            out["name"] = await client.get_device_name()
            out["time"] = await client.current_time()
            out["logout"] = await client.logout()
        except Exception as error:  # what failed, for the test to read
            out["error"] = f"{type(error).__name__}: {error}"
        print(json.dumps(out))


asyncio.run(main(*sys.argv[1:5]))
