package sid_test

import (
	"testing"

	"github.com/switchboardhq/switchboard/internal/sid"
)

func TestNewMakesWellFormedDistinctSIDs(t *testing.T) {
	a, b := sid.New(sid.Conversation), sid.New(sid.Conversation)
	if !sid.Is(a, sid.Conversation) || !sid.Looks(a) || a == b {
		t.Fatalf("New = %q, %q", a, b)
	}
}

func TestIsAndLooks(t *testing.T) {
	cases := []struct {
		s            string
		prefix       string
		is, looksSID bool
	}{
		{"CH0123456789abcdef0123456789abcdef", "CH", true, true},
		{"CH0123456789ABCDEF0123456789ABCDEF", "CH", true, true},
		{"CH0123456789abcdef0123456789abcdef", "MB", false, true},
		{"CH0123456789abcdef0123456789abcde", "CH", false, false},
		{"CH0123456789abcdef0123456789abcdeg", "CH", false, false},
		{"ch0123456789abcdef0123456789abcdef", "ch", true, false},
		{"order-42", "CH", false, false},
	}
	for _, tc := range cases {
		if got := sid.Is(tc.s, tc.prefix); got != tc.is {
			t.Errorf("Is(%q, %q) = %v, want %v", tc.s, tc.prefix, got, tc.is)
		}
		if got := sid.Looks(tc.s); got != tc.looksSID {
			t.Errorf("Looks(%q) = %v, want %v", tc.s, got, tc.looksSID)
		}
	}
}
