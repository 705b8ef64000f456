-- Tokens may expire (fixture `expiring_tokens`); NULL never expires.
ALTER TABLE tokens ADD COLUMN expires_at BIGINT;
