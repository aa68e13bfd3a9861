-- +goose Up
-- An API key's secret, sealed (AES-GCM) under the server's secret key, so
-- the key can verify the HS256 access tokens it signs; secret_hash stays for
-- HTTP Basic. Keys made before this column have NULL here and cannot verify
-- access tokens.
ALTER TABLE api_keys ADD COLUMN secret_sealed TEXT;

-- +goose Down
ALTER TABLE api_keys DROP COLUMN secret_sealed;
