"""The x86 architecture as the Intel SDM describes it: plain Python, no
debugger. Every function takes register values or bytes and returns facts,
so tests feed it states recorded from real runs (tests/fixtures/)."""
