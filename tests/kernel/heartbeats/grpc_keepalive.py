"""gRPC keepalive pings for kawatch's kernel tests (Debian python3-grpcio).

server HOST PORT SECONDS: serves one echo method, accepting pings without
calls, for at most SECONDS.
client HOST PORT INTERVAL_MS SECONDS: makes one call, then stays idle for
SECONDS while gRPC sends HTTP/2 PINGs every INTERVAL_MS.
"""
import sys
import time

import grpc

METHOD = "/kawatch.Test/Echo"


def target(host, port):
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def server(host, port, seconds):
    handler = grpc.method_handlers_generic_handler(
        "kawatch.Test", {"Echo": grpc.unary_unary_rpc_method_handler(lambda req, ctx: req)}
    )
    options = [
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_ping_interval_without_data_ms", 500),
        ("grpc.http2.max_ping_strikes", 0),
    ]
    from concurrent import futures

    s = grpc.server(futures.ThreadPoolExecutor(max_workers=2), options=options)
    s.add_generic_rpc_handlers((handler,))
    s.add_insecure_port(target(host, port))
    s.start()
    print("ready", flush=True)
    s.wait_for_termination(timeout=seconds)


def client(host, port, interval_ms, seconds):
    options = [
        ("grpc.keepalive_time_ms", interval_ms),
        ("grpc.keepalive_timeout_ms", interval_ms),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
        # Else the client holds pings back while no data flows (5 min).
        ("grpc.http2.min_time_between_pings_ms", 500),
        ("grpc.http2.bdp_probe", 0),
    ]
    with grpc.insecure_channel(target(host, port), options=options) as ch:
        # Watching the channel's state keeps a thread polling it: without a
        # call in flight nothing else would read the PING ACKs.
        ch.subscribe(lambda state: None, try_to_connect=True)
        echo = ch.unary_unary(METHOD)
        print("echo", echo(b"hello", timeout=5), flush=True)
        time.sleep(seconds)


if __name__ == "__main__":
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "server":
        server(host, port, float(sys.argv[4]))
    else:
        client(host, port, int(sys.argv[4]), float(sys.argv[5]))
