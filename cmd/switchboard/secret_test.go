package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestServerSecretFromTheEnvironment(t *testing.T) {
	key := bytes.Repeat([]byte{0xab}, 32)
	for _, tc := range []struct {
		name, value string
		ok          bool
	}{
		{"hex", hex.EncodeToString(key), true},
		{"base64", base64.StdEncoding.EncodeToString(key), true},
		{"unpadded URL base64", base64.RawURLEncoding.EncodeToString(append(key, 0xfb)), true},
		{"surrounding space is ignored", " " + hex.EncodeToString(key) + "\n", true},
		{"under 32 bytes is refused", hex.EncodeToString(key[:31]), false},
		{"neither hex nor base64 is refused", "not a key!", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			got, err := serverSecret(tc.value, dir)
			if !tc.ok {
				if err == nil || !strings.Contains(err.Error(), "SWITCHBOARD_SECRET_KEY") {
					t.Fatalf("accepted %q (%v)", tc.value, err)
				}
				return
			}
			if err != nil || !bytes.HasPrefix(got, key) {
				t.Fatalf("secret %x, %v", got, err)
			}
			if _, err := os.Stat(filepath.Join(dir, secretKeyFile)); !os.IsNotExist(err) {
				t.Fatalf("a key from the environment also wrote a key file (%v)", err)
			}
		})
	}
}

func TestServerSecretFileIsMadeOnceAndKeptPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	first, err := serverSecret("", dir)
	if err != nil || len(first) < 32 {
		t.Fatalf("first start: %x, %v", first, err)
	}
	path := filepath.Join(dir, secretKeyFile)
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v, %v; want mode 0600", info, err)
	}
	again, err := serverSecret("", dir)
	if err != nil || !bytes.Equal(again, first) {
		t.Fatalf("second start read %x (%v), want the first key", again, err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := serverSecret("", dir); err == nil {
		t.Fatal("a key file others can read was accepted")
	}
}

func TestDerivedKeysDifferByPurpose(t *testing.T) {
	master := bytes.Repeat([]byte{1}, 32)
	a, b := deriveKey(master, "media urls"), deriveKey(master, "other")
	if len(a) != 32 || bytes.Equal(a, b) || bytes.Equal(a, master) || !bytes.Equal(a, deriveKey(master, "media urls")) {
		t.Fatalf("derived %x and %x from %x", a, b, master)
	}
}
