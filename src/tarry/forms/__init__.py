"""A question as a person sees it: form fields, browser patterns and one-click choices.

Pure code over an input's JSON Schema (standard library only), shared by the web UI
and the mail that carries questions out and reads replies back.
"""
