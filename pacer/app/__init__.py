"""``pacer app``: the person's companion web app for the phone.

The app itself (HTML, CSS, JavaScript with mqtt.js bundled) is built from
``web/`` by npm into ``web/dist``; this package only serves that folder and a
small ``app-config.json``. The app talks to the person's MQTT broker over
WebSockets directly: nothing about the person passes through this server.
"""
