package conversations

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm/clause"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/events"
)

// WebhookConfig is where pre- and post-event webhooks go: the account-wide
// (global) configuration has Scope "", a service's own has the service SID
// and overrides the global one for that service.
type WebhookConfig struct {
	Scope          string `gorm:"primaryKey"`
	Method         string
	Filters        string // JSON array of event names
	PreWebhookURL  string `gorm:"column:pre_webhook_url"`
	PostWebhookURL string `gorm:"column:post_webhook_url"`
	Target         string // webhook or flex; global only
	DateUpdated    time.Time
}

// FilterList returns the events the configuration subscribes to.
func (w WebhookConfig) FilterList() []string {
	out := []string{}
	_ = json.Unmarshal([]byte(w.Filters), &out) // written by us; a bad row reads as no filters
	return out
}

// Targets of the global webhook configuration.
const (
	WebhookTargetWebhook = "webhook" // events go to its URLs
	WebhookTargetFlex    = "flex"    // events go to Flex
)

// isWebURL reports whether s is an absolute http(s) URL with a host: anything
// else could never receive a webhook.
func isWebURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// serviceWebhookEvents are the events a service's webhook configuration may
// filter on; the global one may also filter on user events.
var (
	serviceWebhookEvents = []string{
		"onConversationAdd", "onConversationUpdate", "onConversationRemove",
		"onMessageAdd", "onMessageUpdate", "onMessageRemove",
		"onParticipantAdd", "onParticipantUpdate", "onParticipantRemove",
		"onConversationAdded", "onConversationUpdated", "onConversationRemoved", "onConversationStateUpdated",
		"onMessageAdded", "onMessageUpdated", "onMessageRemoved",
		"onParticipantAdded", "onParticipantUpdated", "onParticipantRemoved",
		"onDeliveryUpdated",
	}
	globalWebhookEvents = append(slices.Clip(serviceWebhookEvents), "onUserUpdate", "onUserAdded", "onUserUpdated")
)

// WebhookConfigParams are the settable fields; nil leaves a field as is.
type WebhookConfigParams struct {
	Method         *string
	Filters        []string // nil leaves the filters; empty values are dropped, so Filters= clears them
	PreWebhookURL  *string
	PostWebhookURL *string
	Target         *string
}

// eventFilters validates a Filters list against the allowed event names
// (matched case-insensitively) and returns the stored JSON array of canonical
// names, without duplicates or empty values.
func eventFilters(param string, names, allowed []string) (string, error) {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if n == "" {
			continue
		}
		i := slices.IndexFunc(allowed, func(a string) bool { return strings.EqualFold(a, n) })
		if i < 0 {
			return "", errs.E(errs.Invalid, CodeBadWebhookFilter, "%s has an unknown event %q; allowed: %s", param, n, strings.Join(allowed, ", "))
		}
		if !slices.Contains(out, allowed[i]) {
			out = append(out, allowed[i])
		}
	}
	return jsonList(out), nil
}

// apply validates p and copies it onto w; global says whether w is the
// account-wide configuration, the only one with a Target and user events.
func (p WebhookConfigParams) apply(w *WebhookConfig, global bool) error {
	if p.Method != nil {
		m, err := httpMethod("Method", *p.Method)
		if err != nil {
			return err
		}
		w.Method = m
	}
	if p.Filters != nil {
		allowed := serviceWebhookEvents
		if global {
			allowed = globalWebhookEvents
		}
		f, err := eventFilters("Filters", p.Filters, allowed)
		if err != nil {
			return err
		}
		w.Filters = f
	}
	for _, u := range []struct {
		name    string
		in, out *string
	}{{"PreWebhookUrl", p.PreWebhookURL, &w.PreWebhookURL}, {"PostWebhookUrl", p.PostWebhookURL, &w.PostWebhookURL}} {
		if u.in == nil {
			continue
		}
		if *u.in != "" {
			if err := checkCallbackURL(u.name, *u.in); err != nil {
				return err
			}
		}
		*u.out = *u.in
	}
	if p.Target != nil {
		if !global {
			return errs.Invalidf("Target can only be set on the global webhook configuration")
		}
		if *p.Target != WebhookTargetWebhook && *p.Target != WebhookTargetFlex {
			return errs.Invalidf("Target must be webhook or flex, got %q", *p.Target)
		}
		w.Target = *p.Target
	}
	return nil
}

// WebhookConfig returns the webhook configuration of a service, or the
// global one when serviceSid is "". Never configured, it has Twilio's
// defaults: POST, no filters, no URLs.
func (e *Engine) WebhookConfig(ctx context.Context, serviceSid string) (WebhookConfig, error) {
	w := defaultWebhookConfig(serviceSid)
	err := e.read(ctx).Where("scope = ?", serviceSid).Limit(1).Find(&w).Error
	return w, errs.Wrap(err, "webhook configuration")
}

func defaultWebhookConfig(scope string) WebhookConfig {
	return WebhookConfig{Scope: scope, Method: "POST", Filters: "[]", Target: WebhookTargetWebhook}
}

// UpdateWebhookConfig changes the webhook configuration of a service, or the
// global one when serviceSid is "". Only the global one has a Target.
func (e *Engine) UpdateWebhookConfig(ctx context.Context, serviceSid string, p WebhookConfigParams) (WebhookConfig, error) {
	w := defaultWebhookConfig(serviceSid)
	err := e.write(ctx, func(tx *db.Tx) error {
		ev := events.Event{Type: events.ConfigurationUpdated}
		if serviceSid != "" {
			// Share-lock the service: this row has no foreign key, so a
			// concurrent DeleteService must wait rather than orphan it.
			var svc Service
			res := tx.Locked("SHARE").Where("sid = ?", serviceSid).Limit(1).Find(&svc)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				return notFound("Services", serviceSid)
			}
			ev = events.Event{Type: events.ServiceUpdated, ServiceSid: serviceSid, Sid: serviceSid}
		}
		if err := tx.Where("scope = ?", serviceSid).Limit(1).Find(&w).Error; err != nil {
			return err
		}
		if err := p.apply(&w, serviceSid == ""); err != nil {
			return err
		}
		w.DateUpdated = e.now()
		// An upsert, not Save: Save takes the global scope's empty key for "new".
		if err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "scope"}}, UpdateAll: true}).Create(&w).Error; err != nil {
			return err
		}
		return e.publish(tx, ev)
	})
	return w, errs.Wrap(err, "update webhook configuration")
}
