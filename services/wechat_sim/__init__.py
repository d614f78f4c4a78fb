"""A local stand-in for the WeChat Official Account platform.

It plays both sides the platform plays: the ``/cgi-bin/`` API our services call (tokens, QR codes,
media, messages, tags, users, with the platform's limits and error codes) and the webhook pushes it
sends to our gateway when a simulated member follows, scans, taps the menu or writes. State lives in
memory, time comes from an injected clock, and every message a member receives lands in an inbox.

Use it as a process (``scrm run wechat-sim``) or as a library::

    sim = build_simulator(settings, clock=ManualClock())
    outcome = await sim.follow(appid, "o_member_1", scene="poster-7")
"""
