"""Bluetooth LE wearables: bytes in, samples out. Knows nothing about pacing.

Modules (see devices/README.md):

* ``samples``: what the daemon receives (``StepDelta``, ``Cadence``, ``HeartRate``,
  ``Battery``, ``Motion``, ``Link``);
* ``drivers``: pure decoders per protocol, raising only ``errors.DecodeError``;
  ``drivers.infinitime.encode_new_alert`` for prompts on the watch;
* ``counter`` and ``rsc``: pure trackers from a daily step counter or a cadence
  to step deltas, with plain-data state;
* ``manager``: ``DeviceManager``, the connection manager on bleak;
* ``scan``: which supported wearables are in reach;
* ``virtual``: bumble-based virtual wearables and bleak backends (tests, demo).

This ``__init__`` imports nothing, so ``import devices.samples`` stays light.
"""
