"""The wire contract (interfaces.md sections 4 to 8): the one place where MQTT
topic strings, every payload's shape and version, and the parsing of the
commands that arrive are written.

- ``topics``: the topics of one person's tree, the wildcard subscriptions of
  the daemon and the clinic, and Home Assistant's discovery topics;
- ``payloads``: the engine's typed values as the JSON objects published (each
  with its ``"v"``), and how they are encoded;
- ``commands``: strict parsing of the commands a person or a physiotherapist
  sends, into the engine's command values.

It builds on the engine (pacer/engine) and knows nothing of MQTT clients,
stores or clocks; the daemon, ``pacer replay``, the store, the clinic, the
phone app's server and Home Assistant discovery take their wire from here.
"""
