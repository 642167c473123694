"""An MQTT client with a short keepalive for kawatch's kernel tests (Debian
python3-paho-mqtt; mosquitto_sub will not go below 5 s).

HOST PORT KEEPALIVE SECONDS: connects, subscribes, then stays idle for
SECONDS while the library sends PINGREQ every KEEPALIVE seconds.
"""
import sys
import time

import paho.mqtt.client as mqtt

host, port, keepalive, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
c = mqtt.Client(client_id="kawatch-heartbeat-test")
c.connect(host, port, keepalive=keepalive)
c.subscribe("kawatch/test")
end = time.monotonic() + seconds
while time.monotonic() < end:
    c.loop(timeout=0.2)
c.disconnect()
c.loop(timeout=0.2)
print("done", flush=True)
