"""WebSocket heartbeat for kawatch's kernel tests (Debian python3-websockets).

server HOST PORT SECONDS INTERVAL: serves for at most SECONDS, pinging
every INTERVAL seconds (0: never).
client HOST PORT INTERVAL SECONDS: connects, sends one message, then stays
idle for SECONDS while the library pings every INTERVAL seconds.
"""
import asyncio
import sys

import websockets


async def echo(ws, path=None):
    async for message in ws:
        await ws.send(message)


async def server(host, port, seconds, interval):
    interval = interval or None
    async with websockets.serve(echo, host, port, ping_interval=interval, ping_timeout=interval):
        print("ready", flush=True)
        await asyncio.sleep(seconds)


async def client(host, port, interval, seconds):
    uri = f"ws://[{host}]:{port}/" if ":" in host else f"ws://{host}:{port}/"
    async with websockets.connect(uri, ping_interval=interval, ping_timeout=interval) as ws:
        await ws.send("hello")
        print("echo", await ws.recv(), flush=True)
        await asyncio.sleep(seconds)


if __name__ == "__main__":
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "server":
        asyncio.run(server(host, port, float(sys.argv[4]), float(sys.argv[5])))
    else:
        asyncio.run(client(host, port, float(sys.argv[4]), float(sys.argv[5])))
