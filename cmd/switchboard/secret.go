package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// secretKeyFile is where a server without SWITCHBOARD_SECRET_KEY keeps the
// key it made on its first start, under the data directory.
const secretKeyFile = "secret.key"

// minSecretLen is the shortest acceptable master secret, in bytes.
const minSecretLen = 32

// serverSecret returns the server's master secret: fromEnv
// (SWITCHBOARD_SECRET_KEY, hex or base64 of at least 32 bytes) when set,
// otherwise <dataDir>/secret.key, created with 32 random bytes on the first
// start and reused after. Keys derived from it sign media URLs and seal
// stored credentials, so every node of a deployment needs the same one: set
// the variable there rather than relying on each node's file.
func serverSecret(fromEnv, dataDir string) ([]byte, error) {
	if fromEnv != "" {
		key, err := parseSecret(fromEnv)
		if err != nil {
			return nil, fmt.Errorf("SWITCHBOARD_SECRET_KEY: %w", err)
		}
		return key, nil
	}
	path := filepath.Join(dataDir, secretKeyFile)
	key, err := readSecretFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = createSecretFile(path)
		if errors.Is(err, fs.ErrExist) { // another process made it first
			key, err = readSecretFile(path)
		}
	}
	return key, err
}

// parseSecret decodes a secret written as hex or as base64 (standard or
// URL alphabet, padded or not).
func parseSecret(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	key, err := hex.DecodeString(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if err == nil {
			break
		}
		key, err = enc.DecodeString(s)
	}
	if err != nil {
		return nil, errors.New("not hex or base64")
	}
	if len(key) < minSecretLen {
		return nil, fmt.Errorf("%d bytes, want at least %d (e.g. openssl rand -hex 32)", len(key), minSecretLen)
	}
	return key, nil
}

func readSecretFile(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is readable by other users (mode %04o); chmod 600 it", path, info.Mode().Perm())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key, err := parseSecret(string(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}

// createSecretFile writes a new random key, failing with fs.ErrExist when
// the file is already there so two processes never hold different keys.
func createSecretFile(path string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, err
	}
	key := make([]byte, minSecretLen)
	_, _ = rand.Read(key) // never fails (crypto/rand panics rather than return short)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	_, err = f.WriteString(hex.EncodeToString(key) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	return key, nil
}

// deriveKey returns the key for one purpose, so one master secret serves
// several uses without any two sharing a key.
func deriveKey(master []byte, purpose string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte("switchboard " + purpose))
	return m.Sum(nil)
}
