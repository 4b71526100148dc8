"""The clinic side: many patients' daemons, one physiotherapist's view.

- ``collector``: MQTT 5 shared subscriptions to every patient's summaries,
  alerts, events and status; each message stored exactly once (``db``), acked
  only after the commit, on a persistent session; a message that breaks the
  contract (``contract``) or that the database refuses is a dead letter;
- ``web``: a small Starlette application for the physiotherapist (patient
  list by what needs attention, each patient's weeks with charts, a plan form
  that publishes ``cmd/plan`` and shows the daemon's reply) and a JSON API;
- ``command``: ``pacer clinic collect | serve | add-user``.
"""
