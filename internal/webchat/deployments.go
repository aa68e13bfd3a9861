package webchat

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// Deployment (WD…) is a webchat widget customers' sites embed.
type Deployment struct {
	Sid string `gorm:"primaryKey"`
	// Key names the deployment in public URLs. It is not a secret (sites
	// embed it) but cannot be guessed, and rotating it cuts off old copies.
	Key            string `gorm:"column:deployment_key"`
	FriendlyName   string
	AllowedOrigins []string `gorm:"serializer:json"`
	// AddressConfigurationSid is the chat address configuration (IG…) that
	// sessions' conversations follow: its service, auto-creation type and
	// webhook or Studio flow.
	AddressConfigurationSid string
	PreEngagement           PreEngagement `gorm:"serializer:json"`
	// WelcomeMessage is posted after the customer's question by
	// WelcomeAuthor; empty posts none.
	WelcomeMessage string
	BrandColor     string // #rrggbb
	Title          string
	DateCreated    time.Time
	DateUpdated    time.Time
}

// TableName is the deployments table.
func (Deployment) TableName() string { return "webchat_deployments" }

// WelcomeAuthor is the author of welcome messages, as in Twilio's webchat.
// No participant has that identity, so the message is nobody's: it is not
// the customer's and starts no routing.
const WelcomeAuthor = "Concierge"

// Pre-engagement field names: what the form asks and the session request
// carries.
const (
	FieldName  = "friendly_name"
	FieldEmail = "email"
	FieldQuery = "query"
)

// defaultLabels are the labels of fields configured without one.
var defaultLabels = map[string]string{FieldName: "Name", FieldEmail: "Email", FieldQuery: "How can we help?"}

// PreEngagement is the form a customer fills in before chatting.
type PreEngagement struct {
	// Disabled skips the form: sessions start without a name ("Anonymous"),
	// email or question.
	Disabled bool    `json:"disabled"`
	Fields   []Field `json:"fields"`
}

// Field is one question of the form, in the order shown.
type Field struct {
	Name     string `json:"name"` // FieldName, FieldEmail or FieldQuery
	Label    string `json:"label"`
	Required bool   `json:"required"`
}

// field returns the form's field of that name, if it asks it.
func (p PreEngagement) field(name string) (Field, bool) {
	i := slices.IndexFunc(p.Fields, func(f Field) bool { return f.Name == name })
	if i < 0 || p.Disabled {
		return Field{}, false
	}
	return p.Fields[i], true
}

// DefaultPreEngagement asks name, email and question, all required, as
// Twilio's webchat does out of the box.
func DefaultPreEngagement() PreEngagement {
	return PreEngagement{Fields: []Field{
		{Name: FieldName, Label: defaultLabels[FieldName], Required: true},
		{Name: FieldEmail, Label: defaultLabels[FieldEmail], Required: true},
		{Name: FieldQuery, Label: defaultLabels[FieldQuery], Required: true},
	}}
}

// Lengths of a deployment's texts, in characters.
const (
	MaxFriendlyName   = 256
	MaxTitle          = 128
	MaxLabel          = 128
	MaxWelcomeMessage = 4096
)

// Defaults of a new deployment.
const (
	DefaultTitle          = "Chat with us"
	DefaultBrandColor     = "#0263e0"
	DefaultWelcomeMessage = "Thanks for reaching out! An agent will be with you shortly."
)

var hexColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// parsePreEngagement reads the PreEngagement parameter:
// {"disabled":false,"fields":[{"name":"friendly_name","label":"Name","required":true},…]}.
func parsePreEngagement(raw string) (PreEngagement, error) {
	var p PreEngagement
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil || dec.More() {
		return p, errs.Invalidf(`PreEngagement must be a JSON object such as {"disabled":false,"fields":[{"name":"friendly_name","label":"Name","required":true}]}`)
	}
	if p.Fields == nil {
		p.Fields = []Field{}
	}
	seen := map[string]bool{}
	for i := range p.Fields {
		f := &p.Fields[i]
		if _, ok := defaultLabels[f.Name]; !ok {
			return p, errs.Invalidf("PreEngagement field %q is unknown: the fields are %s, %s and %s", f.Name, FieldName, FieldEmail, FieldQuery)
		}
		if seen[f.Name] {
			return p, errs.Invalidf("PreEngagement lists the field %q twice", f.Name)
		}
		seen[f.Name] = true
		f.Label = strings.TrimSpace(f.Label)
		if f.Label == "" {
			f.Label = defaultLabels[f.Name]
		}
		if utf8.RuneCountInString(f.Label) > MaxLabel {
			return p, errs.Invalidf("PreEngagement field %q has a label over %d characters", f.Name, MaxLabel)
		}
	}
	return p, nil
}

// DeploymentParams are the settable fields; nil leaves a field as is.
type DeploymentParams struct {
	FriendlyName *string
	// AllowedOrigins replaces the list; nil leaves it, empty clears it.
	AllowedOrigins          []string
	AddressConfigurationSid *string
	PreEngagement           *string // JSON, see PreEngagement
	WelcomeMessage          *string
	BrandColor              *string
	Title                   *string
	// RotateKey gives the deployment a new key; the old one stops working.
	RotateKey bool
}

// newKey returns a fresh deployment key: 128 random bits in base32.
func newKey() string { return rand.Text() }

// apply validates p and copies it onto d; the address configuration is
// checked beforehand (checkAddress).
func apply(d *Deployment, p DeploymentParams) error {
	for _, f := range []struct {
		name string
		v    *string
		max  int
	}{{"FriendlyName", p.FriendlyName, MaxFriendlyName}, {"Title", p.Title, MaxTitle}, {"WelcomeMessage", p.WelcomeMessage, MaxWelcomeMessage}} {
		if f.v != nil && utf8.RuneCountInString(*f.v) > f.max {
			return errs.Invalidf("%s must be at most %d characters", f.name, f.max)
		}
	}
	if p.FriendlyName != nil {
		d.FriendlyName = *p.FriendlyName
	}
	if p.Title != nil {
		d.Title = strings.TrimSpace(*p.Title)
	}
	if p.WelcomeMessage != nil {
		d.WelcomeMessage = strings.TrimSpace(*p.WelcomeMessage)
	}
	if p.BrandColor != nil {
		if !hexColor.MatchString(*p.BrandColor) {
			return errs.Invalidf("BrandColor must be a colour as #rrggbb, such as #0263e0, got %q", *p.BrandColor)
		}
		d.BrandColor = strings.ToLower(*p.BrandColor)
	}
	if p.AllowedOrigins != nil {
		origins, err := normalizeOrigins(p.AllowedOrigins)
		if err != nil {
			return err
		}
		d.AllowedOrigins = origins
	}
	if p.PreEngagement != nil {
		form, err := parsePreEngagement(*p.PreEngagement)
		if err != nil {
			return err
		}
		d.PreEngagement = form
	}
	if p.AddressConfigurationSid != nil {
		d.AddressConfigurationSid = *p.AddressConfigurationSid
	}
	if p.RotateKey {
		d.Key = newKey()
	}
	return nil
}

// checkAddress requires a chat address configuration that auto-creates
// conversations: without one a session has nowhere to start.
func (s *Service) checkAddress(ctx context.Context, addressSid string) error {
	if !sid.Is(addressSid, sid.AddressConfig) {
		return errs.Invalidf("AddressConfigurationSid must be an address configuration SID (IG…), got %q", addressSid)
	}
	a, err := s.conv.AddressConfiguration(ctx, addressSid)
	if errs.KindOf(err) == errs.NotFound {
		return errs.Invalidf("AddressConfigurationSid %s is not an address configuration of this account", addressSid)
	}
	if err != nil {
		return err
	}
	if a.Type != "chat" {
		return errs.Invalidf("AddressConfigurationSid %s is a %s address; a webchat deployment needs a chat one", addressSid, a.Type)
	}
	if !a.AutoCreationEnabled {
		return errs.Invalidf("Address configuration %s does not auto-create conversations; set AutoCreation.Enabled=true on it first", addressSid)
	}
	return nil
}

// CreateDeployment creates a deployment with a fresh key. It needs an
// AddressConfigurationSid; the form, title, colour and welcome message
// have defaults.
func (s *Service) CreateDeployment(ctx context.Context, p DeploymentParams) (Deployment, error) {
	now := s.now()
	d := Deployment{Sid: sid.New(sid.WebchatDeployment), Key: newKey(), AllowedOrigins: []string{},
		PreEngagement: DefaultPreEngagement(), WelcomeMessage: DefaultWelcomeMessage, BrandColor: DefaultBrandColor,
		Title: DefaultTitle, DateCreated: now, DateUpdated: now}
	if p.AddressConfigurationSid == nil || *p.AddressConfigurationSid == "" {
		return d, errs.Invalidf("AddressConfigurationSid is required: the chat address configuration (IG…) whose conversations the deployment starts")
	}
	if err := s.checkAddress(ctx, *p.AddressConfigurationSid); err != nil {
		return d, err
	}
	if err := apply(&d, p); err != nil {
		return d, err
	}
	return d, errs.Wrap(s.db.Gorm.WithContext(ctx).Create(&d).Error, "create webchat deployment")
}

func deploymentNotFound(key string) error {
	return errs.NotFoundf("The requested resource /Webchat/Deployments/%s was not found", key)
}

// Deployment fetches a deployment by SID.
func (s *Service) Deployment(ctx context.Context, deploymentSid string) (Deployment, error) {
	return s.find(ctx, "sid", deploymentSid)
}

// DeploymentByKey fetches the deployment a public key names.
func (s *Service) DeploymentByKey(ctx context.Context, key string) (Deployment, error) {
	d, err := s.find(ctx, "deployment_key", key)
	if errs.KindOf(err) == errs.NotFound {
		return d, errs.NotFoundf("No webchat deployment has the key %q; it may have been rotated", key)
	}
	return d, err
}

// AllowedOrigins are the origins that may embed the deployment with this
// key: the widget page's frame-ancestors.
func (s *Service) AllowedOrigins(ctx context.Context, key string) ([]string, error) {
	d, err := s.DeploymentByKey(ctx, key)
	return d.AllowedOrigins, err
}

func (s *Service) find(ctx context.Context, col, v string) (Deployment, error) {
	var d Deployment
	res := s.db.Gorm.WithContext(ctx).Where(col+" = ?", v).Limit(1).Find(&d)
	if res.Error != nil {
		return d, errs.Wrap(res.Error, "webchat deployment")
	}
	if res.RowsAffected == 0 {
		return d, deploymentNotFound(v)
	}
	return d, nil
}

// Deployments lists deployments, oldest first.
func (s *Service) Deployments(ctx context.Context, p conversations.Page) ([]Deployment, bool, error) {
	var rows []Deployment
	err := s.db.Gorm.WithContext(ctx).Order("date_created, sid").Offset(p.Offset).Limit(p.Limit + 1).Find(&rows).Error
	if err != nil {
		return nil, false, errs.Wrap(err, "webchat deployments")
	}
	if len(rows) > p.Limit {
		return rows[:p.Limit], true, nil
	}
	return rows, false, nil
}

// UpdateDeployment changes a deployment, rotating its key when asked.
func (s *Service) UpdateDeployment(ctx context.Context, deploymentSid string, p DeploymentParams) (Deployment, error) {
	if p.AddressConfigurationSid != nil && *p.AddressConfigurationSid == "" {
		return Deployment{}, errs.Invalidf("AddressConfigurationSid cannot be removed; name another chat address configuration")
	}
	// Checked before the transaction: the check reads through the engine,
	// on another connection than the transaction's.
	if p.AddressConfigurationSid != nil {
		if err := s.checkAddress(ctx, *p.AddressConfigurationSid); err != nil {
			return Deployment{}, err
		}
	}
	var d Deployment
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		res := tx.Locked("UPDATE").Where("sid = ?", deploymentSid).Limit(1).Find(&d)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return deploymentNotFound(deploymentSid)
		}
		if err := apply(&d, p); err != nil {
			return err
		}
		d.DateUpdated = s.now()
		return tx.Save(&d).Error
	})
	return d, errs.Wrap(err, "update webchat deployment")
}

// DeleteDeployment removes a deployment: its key stops starting sessions.
// Sessions already started go on until their conversations close.
func (s *Service) DeleteDeployment(ctx context.Context, deploymentSid string) error {
	res := s.db.Gorm.WithContext(ctx).Where("sid = ?", deploymentSid).Delete(&Deployment{})
	if res.Error == nil && res.RowsAffected == 0 {
		return deploymentNotFound(deploymentSid)
	}
	return errs.Wrap(res.Error, "delete webchat deployment")
}
