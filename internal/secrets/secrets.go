// Package secrets seals credentials stored in the database (carrier auth
// tokens, app secrets) with AES-256-GCM under the server's secret key, so a
// database dump alone does not hand out the keys to a company's numbers.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// prefix marks sealed values (and their format version).
const prefix = "v1:"

// Sealer encrypts and decrypts small secrets.
type Sealer struct{ aead cipher.AEAD }

// New returns a sealer whose key is derived from master (at least 32 bytes).
func New(master []byte) (*Sealer, error) {
	if len(master) < 32 {
		return nil, errors.New("the secret key must be at least 32 bytes")
	}
	key := sha256.Sum256(append([]byte("switchboard secrets v1\x00"), master...))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext; the empty string stays empty (nothing to hide).
func (s *Sealer) Seal(plaintext string) (string, error) {
	if plaintext == "" {
		return "", nil
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	sealed := s.aead.Seal(nonce, nonce, []byte(plaintext), nil)
	return prefix + base64.RawStdEncoding.EncodeToString(sealed), nil
}

// Open decrypts a value made by Seal with the same key.
func (s *Sealer) Open(sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	raw, ok := strings.CutPrefix(sealed, prefix)
	if !ok {
		return "", errors.New("not a sealed secret")
	}
	b, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil || len(b) < s.aead.NonceSize() {
		return "", errors.New("malformed sealed secret")
	}
	plain, err := s.aead.Open(nil, b[:s.aead.NonceSize()], b[s.aead.NonceSize():], nil)
	if err != nil {
		return "", errors.New("the sealed secret does not open with this key (was the secret key changed?)")
	}
	return string(plain), nil
}
