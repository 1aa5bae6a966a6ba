"""The read-only web view (issue 16): `monitor web` and `monitor run --web`.

app.py: routes and responses; views.py: what each page shows, from the store; chart.py: the
SVG chart; auth.py: the MONITOR_WEB_TOKEN guard; serve.py: uvicorn on a socket, in a thread.
"""
