package errs_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/switchboardhq/switchboard/internal/errs"
)

func TestCodesDeriveFromKindUnlessSet(t *testing.T) {
	cases := []struct {
		err  error
		kind errs.Kind
		code int
	}{
		{errs.Invalidf("bad"), errs.Invalid, 20001},
		{errs.NotFoundf("gone"), errs.NotFound, 20404},
		{errs.E(errs.Conflict, 50416, "pair in use"), errs.Conflict, 50416},
		{&errs.Error{Kind: errs.Unauthorized}, errs.Unauthorized, 20003},
		{fmt.Errorf("wrapped: %w", errs.E(errs.Invalid, 50377, "closed")), errs.Invalid, 50377},
		{errors.New("disk on fire"), errs.Internal, 20500},
	}
	for _, tc := range cases {
		if k := errs.KindOf(tc.err); k != tc.kind {
			t.Errorf("KindOf(%v) = %v, want %v", tc.err, k, tc.kind)
		}
		if c := errs.CodeOf(tc.err); c != tc.code {
			t.Errorf("CodeOf(%v) = %d, want %d", tc.err, c, tc.code)
		}
	}
}

func TestInternalErrorsNeverLeakTheirCause(t *testing.T) {
	e := errs.As(errors.New("password=hunter2"))
	if e.Message != "Internal error" {
		t.Fatalf("message = %q", e.Message)
	}
}
