"""The web app's backend: sessions, review state, previews, serving, feedback and the event handlers that
`app.py` wires to its widgets. Plain functions, tested without a browser; the library (`anonymiser/`) never
imports from here."""
