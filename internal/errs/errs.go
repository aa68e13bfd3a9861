// Package errs is Switchboard's one error vocabulary. Services return *Error
// values carrying a Kind (what went wrong, which the web layer maps to an HTTP
// status) and, where Twilio defines one, the Twilio error code the public API
// reports. Anything that is not an *Error is an internal error.
package errs

import (
	"errors"
	"fmt"
)

// Kind classifies an error independently of transport.
type Kind int

// The kinds of error a service may return.
const (
	Internal     Kind = iota // a bug or an unavailable dependency
	Invalid                  // bad input; nothing was changed
	NotFound                 // the resource does not exist (or is not visible)
	Conflict                 // the request clashes with current state
	Unauthorized             // no or bad credentials
	Forbidden                // credentials are fine but not allowed here
	TooLarge                 // a body or field exceeds a size limit
	RateLimited              // too many requests
	Unavailable              // temporarily unable to serve (shutting down, overloaded)
)

// Twilio error codes shared across services. Service-specific codes (50xxx)
// are declared beside the rules that raise them.
const (
	CodeInvalidParam = 20001
	CodeAuth         = 20003
	CodeForbidden    = 20403
	CodeNotFound     = 20404
	CodeRateLimit    = 20429
	CodeInternal     = 20500
	CodeUnavailable  = 20503
)

// Error is a classified, user-presentable error.
type Error struct {
	Kind    Kind
	Code    int    // Twilio error code; 0 means "derive from Kind"
	Message string // safe to show to API clients
	Err     error  // optional cause, never shown to clients
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an error of the given kind and Twilio code.
func E(kind Kind, code int, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalidf reports a bad request parameter (Twilio 20001).
func Invalidf(format string, args ...any) *Error {
	return E(Invalid, CodeInvalidParam, format, args...)
}

// NotFoundf reports a missing resource (Twilio 20404).
func NotFoundf(format string, args ...any) *Error {
	return E(NotFound, CodeNotFound, format, args...)
}

// Wrap marks err as internal with some context; it keeps an existing *Error as is.
func Wrap(err error, context string) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return fmt.Errorf("%s: %w", context, err)
}

// As returns the *Error in err's chain, or an internal error wrapping err.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: Internal, Code: CodeInternal, Message: "Internal error", Err: err}
}

// KindOf reports the Kind of err (Internal for foreign errors).
func KindOf(err error) Kind { return As(err).Kind }

// CodeOf reports the Twilio code of err, derived from its kind when unset.
func CodeOf(err error) int {
	e := As(err)
	if e.Code != 0 {
		return e.Code
	}
	switch e.Kind {
	case Invalid, TooLarge, Conflict:
		return CodeInvalidParam
	case NotFound:
		return CodeNotFound
	case Unauthorized:
		return CodeAuth
	case Forbidden:
		return CodeForbidden
	case RateLimited:
		return CodeRateLimit
	case Unavailable:
		return CodeUnavailable
	}
	return CodeInternal
}
