package web

import (
	"errors"
	"log/slog"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/internal/errs"
)

// twilioError is Twilio's error body, which its helper libraries decode.
type twilioError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// statusOf maps an error kind to its HTTP status: the one place that does.
func statusOf(k errs.Kind) int {
	switch k {
	case errs.Invalid:
		return fiber.StatusBadRequest
	case errs.NotFound:
		return fiber.StatusNotFound
	case errs.Conflict:
		return fiber.StatusConflict
	case errs.Unauthorized:
		return fiber.StatusUnauthorized
	case errs.Forbidden:
		return fiber.StatusForbidden
	case errs.TooLarge:
		return fiber.StatusRequestEntityTooLarge
	case errs.RateLimited:
		return fiber.StatusTooManyRequests
	case errs.Unavailable:
		return fiber.StatusServiceUnavailable
	}
	return fiber.StatusInternalServerError
}

// fromFiber classifies Fiber's own errors (unknown route, body too large…).
func fromFiber(fe *fiber.Error) *errs.Error {
	switch fe.Code {
	case fiber.StatusNotFound:
		return errs.NotFoundf("The requested resource was not found")
	case fiber.StatusMethodNotAllowed:
		return errs.E(errs.Invalid, errs.CodeInvalidParam, "Method not allowed")
	case fiber.StatusRequestEntityTooLarge:
		return errs.E(errs.TooLarge, errs.CodeInvalidParam, "Request body too large")
	case fiber.StatusUnauthorized:
		return errs.E(errs.Unauthorized, errs.CodeAuth, "Authenticate")
	}
	if fe.Code >= 400 && fe.Code < 500 {
		return errs.Invalidf("%s", fe.Message)
	}
	return errs.As(fe)
}

func errorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		var fe *fiber.Error
		var e *errs.Error
		if errors.As(err, &fe) {
			e = fromFiber(fe)
		} else {
			e = errs.As(err)
		}
		status := statusOf(e.Kind)
		if e.Kind == errs.Internal {
			log.Error("request failed", "method", c.Method(), "path", c.Path(), "err", err)
		}
		if e.Kind == errs.Unauthorized {
			c.Set(fiber.HeaderWWWAuthenticate, `Basic realm="Switchboard"`)
		}
		code := errs.CodeOf(e)
		return c.Status(status).JSON(twilioError{
			Code: code, Message: e.Message, Status: status,
			MoreInfo: "https://www.twilio.com/docs/errors/" + strconv.Itoa(code),
		})
	}
}
