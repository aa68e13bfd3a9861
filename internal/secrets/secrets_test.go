package secrets

import (
	"bytes"
	"strings"
	"testing"
)

func TestSealedSecretsOpenOnlyWithTheirKey(t *testing.T) {
	a, err := New(bytes.Repeat([]byte("a"), 32))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := New(bytes.Repeat([]byte("b"), 32))
	sealed, err := a.Seal("auth-token-123")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "auth-token-123") {
		t.Fatal("the sealed value shows the secret")
	}
	if got, err := a.Open(sealed); err != nil || got != "auth-token-123" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := b.Open(sealed); err == nil {
		t.Fatal("another key opened the secret")
	}
	again, _ := a.Seal("auth-token-123")
	if again == sealed {
		t.Fatal("sealing twice gave the same value: nonces are reused")
	}
	tampered := sealed[:len(sealed)-2] + "AA"
	if _, err := a.Open(tampered); err == nil {
		t.Fatal("a tampered value opened")
	}
}

func TestShortKeysAreRefused(t *testing.T) {
	if _, err := New([]byte("short")); err == nil {
		t.Fatal("a 5-byte key was accepted")
	}
}

func TestEmptyStaysEmpty(t *testing.T) {
	s, _ := New(bytes.Repeat([]byte("k"), 32))
	if v, _ := s.Seal(""); v != "" {
		t.Fatalf("Seal(\"\") = %q", v)
	}
	if v, err := s.Open(""); v != "" || err != nil {
		t.Fatalf("Open(\"\") = %q, %v", v, err)
	}
}
