package webhooks

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"strings"

	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// CodeRejected is the Twilio error a REST caller gets when a pre-event
// webhook refuses its action: 50057, "Webhook call failed to execute
// successfully" (the endpoint answered with an error code).
const CodeRejected = 50057

// preTarget is the configuration that hears pre-event a, if any.
func (s *Service) preTarget(ctx context.Context, a conversations.Action) (conversations.WebhookConfig, bool) {
	snap, err := s.cache.get(s.db.Gorm.WithContext(ctx))
	if err != nil {
		s.log.Error("loading webhook configuration; the action proceeds without its pre-event", "event", a.Type, "err", err)
		return conversations.WebhookConfig{}, false
	}
	cfg, ok := snap.target(a.ServiceSid)
	if !ok || cfg.PreWebhookURL == "" || !hears(cfg, string(a.Type)) || !restAllowed(a.Source, a.Origin) {
		return cfg, false
	}
	return cfg, true
}

// Wants reports whether a pre-event webhook hears actions like a. It reads
// the cached configuration only.
func (s *Service) Wants(ctx context.Context, a conversations.Action) bool {
	_, ok := s.preTarget(ctx, a)
	return ok
}

// Ask sends the pre-event and waits up to the pre-event timeout. A 2xx
// answer allows the action, amended by the fields of a JSON body; any other
// answer refuses it with Twilio's error 50057. When no answer comes (a
// timeout, a network error, an address the egress guard refuses) the action
// proceeds unchanged, as on Twilio, where a pre-event webhook that times out
// after five seconds lets the action through unmodified; the failure is
// logged.
func (s *Service) Ask(ctx context.Context, a conversations.Action) (conversations.Amendment, error) {
	cfg, ok := s.preTarget(ctx, a)
	if !ok {
		return conversations.Amendment{}, nil
	}
	params := preParams(s.accountSid, a, s.now())
	params.Set("RetryCount", "0")
	ctx, cancel := context.WithTimeout(ctx, s.preTimeout)
	defer cancel()
	status, body, err := s.send(ctx, cfg.Method, cfg.PreWebhookURL, params, rand.Text())
	if err != nil {
		s.log.Warn("pre-event webhook did not answer; the action proceeds unchanged", "event", a.Type, "url", cfg.PreWebhookURL, "err", err)
		return conversations.Amendment{}, nil
	}
	if status < 200 || status > 299 {
		return conversations.Amendment{}, errs.E(errs.Forbidden, CodeRejected,
			"Webhook call failed to execute successfully: the %s webhook answered %d, refusing the action", a.Type, status)
	}
	am, err := amendment(body)
	if err != nil {
		s.log.Warn("pre-event webhook answered with a body that is not a JSON object; the action proceeds unchanged", "event", a.Type, "err", err)
	}
	return am, nil
}

// amendment reads the changes a pre-event answer asks for: a JSON object
// with any of body, author, attributes (messages), friendly_name,
// unique_name, attributes, state and timers.inactive / timers.closed
// (conversations). Names are matched ignoring case, underscores and dots, so
// FriendlyName and friendly_name both work; timers may also be an object.
// Attributes may be given as a JSON string or as the JSON value itself.
func amendment(body []byte) (conversations.Amendment, error) {
	var am conversations.Amendment
	if len(bytes.TrimSpace(body)) == 0 {
		return am, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return am, err
	}
	// A null leaves the field as asked.
	fields := map[string]json.RawMessage{}
	keep := func(k string, v json.RawMessage) {
		if string(bytes.TrimSpace(v)) != "null" {
			fields[k] = v
		}
	}
	for k, v := range raw {
		k = normalize(k)
		var timers map[string]json.RawMessage
		if k == "timers" && json.Unmarshal(v, &timers) == nil {
			for tk, tv := range timers {
				keep("timers"+normalize(tk), tv)
			}
			continue
		}
		keep(k, v)
	}
	for name, dst := range map[string]**string{
		"body": &am.Body, "author": &am.Author, "friendlyname": &am.FriendlyName, "uniquename": &am.UniqueName,
		"state": &am.State, "timersinactive": &am.TimerInactive, "timersclosed": &am.TimerClosed,
	} {
		var s string
		if v, ok := fields[name]; ok && json.Unmarshal(v, &s) == nil {
			*dst = &s
		}
	}
	if v, ok := fields["attributes"]; ok {
		var s string
		if json.Unmarshal(v, &s) != nil {
			s = string(v) // an object or other JSON value: keep it as the JSON text
		}
		am.Attributes = &s
	}
	return am, nil
}

func normalize(k string) string {
	return strings.ToLower(strings.NewReplacer("_", "", ".", "", "-", "").Replace(k))
}
