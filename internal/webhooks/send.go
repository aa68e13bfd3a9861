package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/internal/jobs"
	"github.com/switchboardhq/switchboard/internal/twiliosig"
	"github.com/switchboardhq/switchboard/internal/webhooks/egress"
)

// userAgent is what Twilio's webhook requests say they are.
const userAgent = "TwilioProxy/1.1"

// maxAnswer bounds how much of an answer is read.
const maxAnswer = 64 << 10

// Request builds a webhook request the way Twilio sends one: a form POST,
// or a GET with the parameters in the query, signed with X-Twilio-Signature
// over the full URL (and the POST parameters) with the auth token.
func Request(ctx context.Context, method, target string, params url.Values, authToken, idempotencyToken string) (*http.Request, error) {
	// Sign the URL the receiver will see: with a path, and without a
	// fragment, which is never sent.
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	if u.Path == "" && u.Opaque == "" {
		u.Path = "/"
	}
	u.Fragment, u.RawFragment = "", ""
	target = u.String()
	var req *http.Request
	if strings.EqualFold(method, http.MethodGet) {
		u := target
		if q := params.Encode(); q != "" {
			sep := "?"
			if strings.Contains(u, "?") {
				sep = "&"
			}
			u += sep + q
		}
		if req, err = http.NewRequestWithContext(ctx, http.MethodGet, u, nil); err != nil {
			return nil, err
		}
		req.Header.Set(twiliosig.Header, twiliosig.Sign(authToken, u, nil))
	} else {
		if req, err = http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(params.Encode())); err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(twiliosig.Header, twiliosig.Sign(authToken, target, params))
	}
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", "*/*")
	if idempotencyToken != "" {
		req.Header.Set("I-Twilio-Idempotency-Token", idempotencyToken)
	}
	return req, nil
}

// send makes a signed request and returns the answer's status and (up to
// maxAnswer of) its body.
func (s *Service) send(ctx context.Context, method, target string, params url.Values, token string) (int, []byte, error) {
	acct, err := s.accounts.EnsureAccount(ctx)
	if err != nil {
		return 0, nil, err
	}
	req, err := Request(ctx, method, target, params, acct.AuthToken, token)
	if err != nil {
		return 0, nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	return resp.StatusCode, body, err
}

// deliver is the delivery job: it sends one post-event to one target. A
// network error, a timeout, a 5xx or a 429 is retried with the runner's
// backoff; any other non-2xx answer, a refused address or a bad URL is final.
func (s *Service) deliver(ctx context.Context, payload string) error {
	var d delivery
	if err := json.Unmarshal([]byte(payload), &d); err != nil {
		return jobs.Permanent(fmt.Errorf("webhook delivery: bad payload: %w", err))
	}
	u, err := url.Parse(d.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return jobs.Permanent(fmt.Errorf("%s webhook: %q is not an http(s) URL", d.Event, d.URL))
	}
	params := url.Values{}
	for k, v := range d.Params {
		params[k] = v
	}
	if d.CountRetries {
		attempt, err := s.attempt(ctx, d.Token)
		if err != nil {
			return err
		}
		params.Set("RetryCount", strconv.Itoa(attempt-1))
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	status, _, err := s.send(ctx, d.Method, d.URL, params, d.Token)
	switch {
	case egress.IsRefused(err):
		return jobs.Permanent(fmt.Errorf("%s webhook to %s: %w", d.Event, d.URL, err))
	case err != nil:
		return fmt.Errorf("%s webhook to %s: %w", d.Event, d.URL, err)
	case status >= 200 && status < 300:
		return nil
	case status == http.StatusTooManyRequests || status >= 500:
		return fmt.Errorf("%s webhook to %s answered %d", d.Event, d.URL, status)
	}
	return jobs.Permanent(fmt.Errorf("%s webhook to %s answered %d", d.Event, d.URL, status))
}

// attempt is the number of the running attempt of the delivery job with
// the token (1 for the first): RetryCount tells receivers which retry a
// request is, and the runner counts attempts on the job row only.
func (s *Service) attempt(ctx context.Context, token string) (int, error) {
	var j jobs.Job
	res := s.db.Gorm.WithContext(ctx).Select("attempts").
		Where("kind = ? AND dedupe_key = ? AND status = ?", JobKind, token, jobs.StatusRunning).Limit(1).Find(&j)
	if res.Error != nil {
		return 0, res.Error
	}
	if res.RowsAffected == 0 {
		return 0, errors.New("webhook delivery: its job is not running")
	}
	return j.Attempts, nil
}
