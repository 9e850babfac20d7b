"""Browser policy for every response (headers) and request hardening."""
