"""Mail replies come back: receive them (an SMTP endpoint, IMAP polling) and deliver them.

A reply to a question answers its wait, through the same door as the web form; a
reply to a mail a flow sent becomes a message to its run.
"""
