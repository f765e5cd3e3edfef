"""Benchmarking TTS servers as their clients see them: the protocol's framings
(framing.py), server targets from --tts-server (targets.py) and a server of the
project's own engines (app.py, ``python -m pytest_ttsbench serve``). Importing this
package imports nothing: httpx, starlette and uvicorn load only where used."""
