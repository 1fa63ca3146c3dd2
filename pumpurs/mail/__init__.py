"""The one mail path: the outbox (queue, dedupe keys), MIME, SMTP and delivery."""
