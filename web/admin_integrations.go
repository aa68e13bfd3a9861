package web

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/interactions/desk"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/channels"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/jobs"
	"github.com/switchboardhq/switchboard/internal/webchat"
	"github.com/switchboardhq/switchboard/views/adminint"
	"github.com/switchboardhq/switchboard/views/console"
	webchatview "github.com/switchboardhq/switchboard/views/webchat"
)

// The admin pages for what Switchboard connects to. They change the same
// data as the REST API, through the same services. Each page is one
// region (adminint.BodyID) that every form and button re-renders whole:
// after a change with a notice, after a refusal with the form as typed
// and why (the refusal's status, nothing changed).

// adminLists bounds the lists these pages show: configuration of a few
// rows, so one page holds them all.
const adminLists = 500

// adminFailedJobs is how many failed jobs the page lists.
const adminFailedJobs = 100

type adminIntegrations struct{ d Deps }

// addAdminIntegrationRoutes mounts webchat, numbers, canned responses, dispositions, API keys, webhooks and failed jobs.
func addAdminIntegrationRoutes(g fiber.Router, d Deps) {
	h := adminIntegrations{d: d}
	if d.Webchat != nil && d.Conversations != nil {
		g.Get("/webchat", h.webchat)
		g.Post("/webchat", h.createDeployment)
		g.Post("/webchat/addresses", h.createChatAddress)
		g.Post("/webchat/:Sid", h.updateDeployment)
		g.Post("/webchat/:Sid/rotate", h.rotateDeployment)
		g.Post("/webchat/:Sid/delete", h.deleteDeployment)
	}
	if d.Channels != nil && d.Conversations != nil {
		g.Get("/numbers", h.numbers)
		g.Post("/numbers/providers", h.createProvider)
		g.Post("/numbers/providers/:Sid", h.updateProvider)
		g.Post("/numbers/providers/:Sid/delete", h.deleteProvider)
		g.Post("/numbers/senders", h.putSender)
		g.Post("/numbers/senders/delete", h.deleteSender)
	}
	if d.Desk != nil && d.TaskRouter != nil {
		g.Get("/canned", h.canned)
		g.Post("/canned", h.createCanned)
		g.Post("/canned/:Sid", h.updateCanned)
		g.Post("/canned/:Sid/delete", h.deleteCanned)
		g.Get("/dispositions", h.dispositions)
		g.Post("/dispositions", h.createDisposition)
		g.Post("/dispositions/:Sid", h.relabelDisposition)
		g.Post("/dispositions/:Sid/activate", h.switchDisposition(true))
		g.Post("/dispositions/:Sid/deactivate", h.switchDisposition(false))
	}
	if d.Keys != nil {
		g.Get("/keys", h.keys)
		g.Post("/keys", h.createKey)
		g.Post("/keys/:Sid/revoke", h.revokeKey)
	}
	if d.Conversations != nil {
		g.Get("/webhooks", h.webhooks)
		g.Post("/webhooks", h.updateWebhooks)
	}
	if d.Jobs != nil {
		g.Get("/jobs", h.jobs)
		g.Post("/jobs/retry-kind", h.retryKind)
		g.Post("/jobs/:ID/retry", h.retryJob)
	}
}

// adminChanged answers a change that happened: the page's region and a notice.
func adminChanged(c *fiber.Ctx, body templ.Component, notice string) error {
	return render(c, templ.Join(body, console.Done(notice)))
}

// refusedWith answers a refused form with the region showing why, when err
// is the input's fault; anything else is a notice (consoleFail).
func (h adminIntegrations) refusedWith(c *fiber.Ctx, err error, body func(msg string) (templ.Component, error)) error {
	if !refused(err) {
		return consoleFail(c, h.d.Log, err)
	}
	component, berr := body(errs.As(err).Message)
	if berr != nil {
		return consoleFail(c, h.d.Log, berr)
	}
	return renderRefusal(c, err, component)
}

// nonEmptyLines splits text into its non-empty trimmed lines.
func nonEmptyLines(text string) []string {
	out := []string{}
	for l := range strings.Lines(text) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// listItems splits a comma- or newline-separated list, dropping empties.
func listItems(text string) []string {
	out := []string{}
	for _, v := range strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// workspaceChoices lists the workspaces, with their names by SID.
func (h adminIntegrations) workspaceChoices(c *fiber.Ctx) ([]adminint.Option, map[string]string, error) {
	ws, _, err := h.d.TaskRouter.Workspaces(c.UserContext(), "", taskrouter.Page{Limit: adminLists})
	opts := make([]adminint.Option, 0, len(ws))
	names := map[string]string{}
	for _, w := range ws {
		opts = append(opts, adminint.Option{Value: w.Sid, Label: w.FriendlyName})
		names[w.Sid] = w.FriendlyName
	}
	return opts, names, err
}

// Webchat deployments.

// preEngagementOrder is the order the pre-engagement questions are offered in.
var preEngagementOrder = []string{webchat.FieldName, webchat.FieldEmail, webchat.FieldQuery}

func deploymentFormOf(d webchat.Deployment) adminint.DeploymentForm {
	f := adminint.DeploymentForm{Sid: d.Sid, FriendlyName: d.FriendlyName, Title: d.Title, AddressSid: d.AddressConfigurationSid,
		AllowedOrigins: strings.Join(d.AllowedOrigins, "\n"), WelcomeMessage: d.WelcomeMessage, BrandColor: d.BrandColor}
	defaults := webchat.DefaultPreEngagement().Fields
	for i, name := range preEngagementOrder {
		a := adminint.AskField{Name: name, Label: defaults[i].Label}
		for _, q := range d.PreEngagement.Fields {
			if q.Name == name {
				a.Label, a.Required, a.Asked = q.Label, q.Required, !d.PreEngagement.Disabled
			}
		}
		f.Ask = append(f.Ask, a)
	}
	return f
}

// newDeploymentForm is the create form: a new deployment's defaults.
func newDeploymentForm() adminint.DeploymentForm {
	return deploymentFormOf(webchat.Deployment{Title: webchat.DefaultTitle, BrandColor: webchat.DefaultBrandColor,
		WelcomeMessage: webchat.DefaultWelcomeMessage, PreEngagement: webchat.DefaultPreEngagement()})
}

// readDeploymentForm reads the form as typed and as the service's
// parameters: every field is set, so an edit replaces what it shows.
func readDeploymentForm(c *fiber.Ctx) (adminint.DeploymentForm, webchat.DeploymentParams) {
	f := adminint.DeploymentForm{FriendlyName: c.FormValue("friendly_name"), Title: c.FormValue("title"),
		AddressSid: c.FormValue("address_configuration_sid"), AllowedOrigins: c.FormValue("allowed_origins"),
		WelcomeMessage: c.FormValue("welcome_message"), BrandColor: c.FormValue("brand_color")}
	form := webchat.PreEngagement{Fields: []webchat.Field{}}
	for _, name := range preEngagementOrder {
		a := adminint.AskField{Name: name, Label: c.FormValue("label_" + name), Asked: c.FormValue("ask_"+name) == "on",
			Required: c.FormValue("required_"+name) == "on"}
		f.Ask = append(f.Ask, a)
		if a.Asked {
			form.Fields = append(form.Fields, webchat.Field{Name: name, Label: a.Label, Required: a.Required})
		}
	}
	form.Disabled = len(form.Fields) == 0
	encoded, _ := json.Marshal(form) // strings and bools: cannot fail
	pre := string(encoded)
	p := webchat.DeploymentParams{FriendlyName: &f.FriendlyName, Title: &f.Title, AddressConfigurationSid: &f.AddressSid,
		AllowedOrigins: nonEmptyLines(f.AllowedOrigins), WelcomeMessage: &f.WelcomeMessage, BrandColor: &f.BrandColor, PreEngagement: &pre}
	return f, p
}

// webchatProps is the page with form, and the deployment openSid open
// (its snippet shown) when set.
func (h adminIntegrations) webchatProps(c *fiber.Ctx, form adminint.DeploymentForm, openSid string) (adminint.WebchatProps, error) {
	ctx := c.UserContext()
	p := adminint.WebchatProps{Nav: consoleNav(c, "/admin/webchat"), Form: form}
	rows, _, err := h.d.Webchat.Deployments(ctx, conversations.Page{Limit: adminLists})
	if err != nil {
		return p, err
	}
	addrs, _, err := h.d.Conversations.AddressConfigurations(ctx, "chat", conversations.Page{Limit: adminLists})
	if err != nil {
		return p, err
	}
	names := map[string]string{}
	for _, a := range addrs {
		names[a.Sid] = a.FriendlyName
		if a.AutoCreationEnabled {
			label := a.Sid
			if a.FriendlyName != "" {
				label = a.FriendlyName + " (" + a.Sid + ")"
			}
			p.Addresses = append(p.Addresses, adminint.Option{Value: a.Sid, Label: label})
		}
	}
	loader := publicBase(h.d, c) + "/static/webchat.js"
	for _, d := range rows {
		row := adminint.Deployment{Sid: d.Sid, FriendlyName: d.FriendlyName, AllowedOrigins: d.AllowedOrigins,
			AddressSid: d.AddressConfigurationSid, AddressName: names[d.AddressConfigurationSid], DateUpdated: d.DateUpdated,
			Snippet: webchatview.Snippet(loader, d.Key)}
		p.Deployments = append(p.Deployments, row)
		if d.Sid == openSid {
			p.Open = &row
		}
	}
	return p, nil
}

func (h adminIntegrations) webchat(c *fiber.Ctx) error {
	form, open := newDeploymentForm(), ""
	if sid := c.Query("edit"); sid != "" {
		d, err := h.d.Webchat.Deployment(c.UserContext(), sid)
		switch {
		case errs.KindOf(err) == errs.NotFound:
			c.Status(fiber.StatusNotFound)
			form.Error = "That deployment was not found: it may have been deleted."
		case err != nil:
			return err
		default:
			form, open = deploymentFormOf(d), d.Sid
		}
	}
	p, err := h.webchatProps(c, form, open)
	if err != nil {
		return err
	}
	return render(c, adminint.WebchatPage(p))
}

// showDeployment answers a change to d: the page with d open, at its own
// address.
func (h adminIntegrations) showDeployment(c *fiber.Ctx, d webchat.Deployment, notice string) error {
	p, err := h.webchatProps(c, deploymentFormOf(d), d.Sid)
	if err != nil {
		return consoleFail(c, h.d.Log, err)
	}
	c.Set("HX-Push-Url", "/admin/webchat?edit="+d.Sid)
	return adminChanged(c, adminint.WebchatBody(p), notice)
}

func (h adminIntegrations) createDeployment(c *fiber.Ctx) error {
	form, params := readDeploymentForm(c)
	d, err := h.d.Webchat.CreateDeployment(c.UserContext(), params)
	if err != nil {
		return h.refusedWith(c, err, func(msg string) (templ.Component, error) {
			form.Error = msg
			p, err := h.webchatProps(c, form, "")
			return adminint.WebchatBody(p), err
		})
	}
	return h.showDeployment(c, d, "Deployment created: paste its snippet into your site.")
}

func (h adminIntegrations) updateDeployment(c *fiber.Ctx) error {
	form, params := readDeploymentForm(c)
	sid := c.Params("Sid")
	d, err := h.d.Webchat.UpdateDeployment(c.UserContext(), sid, params)
	if err != nil {
		return h.refusedWith(c, err, func(msg string) (templ.Component, error) {
			form.Sid, form.Error = sid, msg
			p, err := h.webchatProps(c, form, sid)
			return adminint.WebchatBody(p), err
		})
	}
	return h.showDeployment(c, d, "Deployment saved.")
}

// createChatAddress configures a chat address that auto-creates
// conversations in the default service, and offers it to the create form.
func (h adminIntegrations) createChatAddress(c *fiber.Ctx) error {
	af := adminint.ChatAddressForm{Address: strings.TrimSpace(c.FormValue("address")), Name: strings.TrimSpace(c.FormValue("friendly_name"))}
	a, err := h.d.Conversations.CreateAddressConfiguration(c.UserContext(), conversations.AddressConfigurationParams{Type: new("chat"),
		Address: &af.Address, FriendlyName: &af.Name, AutoCreationEnabled: new(true), AutoCreationType: new(conversations.AutoCreationDefault)})
	if err != nil {
		return h.refusedWith(c, err, func(msg string) (templ.Component, error) {
			af.Error = msg
			p, err := h.webchatProps(c, newDeploymentForm(), "")
			p.AddressForm = af
			return adminint.WebchatBody(p), err
		})
	}
	form := newDeploymentForm()
	form.AddressSid = a.Sid
	p, err := h.webchatProps(c, form, "")
	if err != nil {
		return consoleFail(c, h.d.Log, err)
	}
	return adminChanged(c, adminint.WebchatBody(p), "Chat address "+a.Address+" added: deployments can start conversations on it.")
}

func (h adminIntegrations) rotateDeployment(c *fiber.Ctx) error {
	d, err := h.d.Webchat.UpdateDeployment(c.UserContext(), c.Params("Sid"), webchat.DeploymentParams{RotateKey: true})
	if err != nil {
		return consoleFail(c, h.d.Log, err)
	}
	return h.showDeployment(c, d, "New key made: the old snippet no longer works, paste the new one.")
}

func (h adminIntegrations) deleteDeployment(c *fiber.Ctx) error {
	if err := h.d.Webchat.DeleteDeployment(c.UserContext(), c.Params("Sid")); err != nil {
		return consoleFail(c, h.d.Log, err)
	}
	p, err := h.webchatProps(c, newDeploymentForm(), "")
	if err != nil {
		return consoleFail(c, h.d.Log, err)
	}
	c.Set("HX-Push-Url", "/admin/webchat")
	return adminChanged(c, adminint.WebchatBody(p), "Deployment deleted.")
}

// Numbers: provider accounts and senders.

// providerKindLabels name the provider kinds.
var providerKindLabels = map[string]string{channels.KindTwilio: "Twilio Messaging", channels.KindWhatsApp: "WhatsApp Cloud API",
	channels.KindSimulator: "Simulator (dev)"}

func (h adminIntegrations) numbersProps(c *fiber.Ctx, pf adminint.ProviderForm, sf adminint.SenderForm) (adminint.NumbersProps, error) {
	ctx := c.UserContext()
	p := adminint.NumbersProps{Nav: consoleNav(c, "/admin/numbers"), ProviderForm: pf, SenderForm: sf}
	for _, k := range h.d.Channels.Kinds() {
		p.Kinds = append(p.Kinds, adminint.Option{Value: k, Label: providerKindLabels[k]})
	}
	accounts, err := h.d.Channels.Providers(ctx)
	if err != nil {
		return p, err
	}
	senders, err := h.d.Channels.Senders(ctx)
	if err != nil {
		return p, err
	}
	names := map[string]string{}
	used := map[string]int{}
	for _, s := range senders {
		used[s.ProviderSid]++
	}
	for _, a := range accounts {
		names[a.Sid] = a.FriendlyName
		p.Providers = append(p.Providers, adminint.Provider{Sid: a.Sid, Kind: a.Kind, WhatsApp: a.Kind == channels.KindWhatsApp, FriendlyName: a.FriendlyName, AccountID: a.AccountID,
			SecretSet: a.Secret != "", AppSecretSet: a.AppSecret != "", VerifyTokenSet: a.VerifyToken != "",
			WebhookURL: h.d.Channels.WebhookURL(a.Sid), Senders: used[a.Sid]})
		label := a.FriendlyName
		if label == "" {
			label = a.Sid
		}
		p.ProviderChoice = append(p.ProviderChoice, adminint.Option{Value: a.Sid, Label: label + " — " + providerKindLabels[a.Kind]})
	}
	for _, s := range senders {
		row := adminint.Sender{Address: s.Address, Channel: s.Channel(), ProviderSid: s.ProviderSid, Provider: names[s.ProviderSid],
			SenderID: s.SenderID, RateLimit: s.RateLimit}
		a, ok, err := h.d.Conversations.AddressConfigurationFor(ctx, s.Address)
		if err != nil {
			return p, err
		}
		if ok {
			row.AddressSid, row.AddressName, row.AutoCreates = a.Sid, a.FriendlyName, a.AutoCreationEnabled
		}
		p.Senders = append(p.Senders, row)
	}
	return p, nil
}

// providerFormOf is the edit form of an account: never its secrets, only
// whether each is set.
func providerFormOf(a channels.ProviderAccount) adminint.ProviderForm {
	f := adminint.ProviderForm{Sid: a.Sid, Kind: a.Kind, FriendlyName: a.FriendlyName, AccountID: a.AccountID, BaseURL: a.BaseURL,
		WhatsApp: a.Kind == channels.KindWhatsApp, SecretSet: a.Secret != "", AppSecretSet: a.AppSecret != "", VerifyTokenSet: a.VerifyToken != ""}
	if a.Templates != "{}" {
		f.Templates = a.Templates
	}
	return f
}

func senderFormOf(s channels.Sender) adminint.SenderForm {
	return adminint.SenderForm{Editing: true, Address: s.Address, ProviderSid: s.ProviderSid, SenderID: s.SenderID,
		RateLimit: strconv.FormatFloat(s.RateLimit, 'g', -1, 64)}
}

func (h adminIntegrations) numbers(c *fiber.Ctx) error {
	ctx := c.UserContext()
	var pf adminint.ProviderForm
	var sf adminint.SenderForm
	if sid := c.Query("provider"); sid != "" {
		a, err := h.d.Channels.Provider(ctx, sid)
		switch {
		case errs.KindOf(err) == errs.NotFound:
			c.Status(fiber.StatusNotFound)
			pf.Error = "That provider account was not found: it may have been deleted."
		case err != nil:
			return err
		default:
			pf = providerFormOf(a)
		}
	}
	if addr := c.Query("sender"); addr != "" {
		all, err := h.d.Channels.Senders(ctx)
		if err != nil {
			return err
		}
		if i := slices.IndexFunc(all, func(s channels.Sender) bool { return s.Address == addr }); i >= 0 {
			sf = senderFormOf(all[i])
		} else {
			c.Status(fiber.StatusNotFound)
			sf.Error = "That sender was not found: it may have been deleted."
		}
	}
	p, err := h.numbersProps(c, pf, sf)
	if err != nil {
		return err
	}
	return render(c, adminint.NumbersPage(p))
}

// readProviderForm reads the account form. Secrets left empty are not
// sent, so an edit keeps the stored ones; they are never put back in the
// form, not even as typed.
func readProviderForm(c *fiber.Ctx) (adminint.ProviderForm, channels.ProviderParams) {
	f := adminint.ProviderForm{Kind: c.FormValue("kind"), FriendlyName: c.FormValue("friendly_name"),
		AccountID: strings.TrimSpace(c.FormValue("account_id")), BaseURL: strings.TrimSpace(c.FormValue("base_url")),
		Templates: strings.TrimSpace(c.FormValue("templates"))}
	templates := f.Templates
	if templates == "" {
		templates = "{}"
	}
	p := channels.ProviderParams{FriendlyName: &f.FriendlyName, AccountID: &f.AccountID, BaseURL: &f.BaseURL, Templates: &templates}
	for dst, name := range map[**string]string{&p.Secret: "secret", &p.AppSecret: "app_secret", &p.VerifyToken: "verify_token"} {
		if v := c.FormValue(name); v != "" {
			*dst = &v
		}
	}
	return f, p
}

func (h adminIntegrations) createProvider(c *fiber.Ctx) error {
	form, params := readProviderForm(c)
	params.Kind = &form.Kind
	a, err := h.d.Channels.CreateProvider(c.UserContext(), params)
	if err != nil {
		return h.refusedWith(c, err, func(msg string) (templ.Component, error) {
			form.Error = msg
			p, err := h.numbersProps(c, form, adminint.SenderForm{})
			return adminint.NumbersBody(p), err
		})
	}
	p, err := h.numbersProps(c, adminint.ProviderForm{}, adminint.SenderForm{ProviderSid: a.Sid})
	if err != nil {
		return consoleFail(c, h.d.Log, err)
	}
	return adminChanged(c, adminint.NumbersBody(p), "Provider account added. Give the carrier its webhook URL: "+h.d.Channels.WebhookURL(a.Sid))
}

func (h adminIntegrations) updateProvider(c *fiber.Ctx) error {
	ctx, sid := c.UserContext(), c.Params("Sid")
	form, params := readProviderForm(c)
	_, err := h.d.Channels.UpdateProvider(ctx, sid, params)
	if err != nil {
		return h.refusedWith(c, err, func(msg string) (templ.Component, error) {
			old, err := h.d.Channels.Provider(ctx, sid)
			if err != nil {
				return nil, err
			}
			form.Sid, form.Kind, form.WhatsApp, form.Error = sid, old.Kind, old.Kind == channels.KindWhatsApp, msg
			form.SecretSet, form.AppSecretSet, form.VerifyTokenSet = old.Secret != "", old.AppSecret != "", old.VerifyToken != ""
			p, err := h.numbersProps(c, form, adminint.SenderForm{})
			return adminint.NumbersBody(p), err
		})
	}
	p, err := h.numbersProps(c, adminint.ProviderForm{}, adminint.SenderForm{})
	if err != nil {
		return consoleFail(c, h.d.Log, err)
	}
	c.Set("HX-Push-Url", "/admin/numbers")
	return adminChanged(c, adminint.NumbersBody(p), "Provider account saved.")
}

func (h adminIntegrations) deleteProvider(c *fiber.Ctx) error {
	if err := h.d.Channels.DeleteProvider(c.UserContext(), c.Params("Sid")); err != nil {
		return consoleFail(c, h.d.Log, err)
	}
	p, err := h.numbersProps(c, adminint.ProviderForm{}, adminint.SenderForm{})
	if err != nil {
		return consoleFail(c, h.d.Log, err)
	}
	c.Set("HX-Push-Url", "/admin/numbers")
	return adminChanged(c, adminint.NumbersBody(p), "Provider account deleted.")
}

func (h adminIntegrations) putSender(c *fiber.Ctx) error {
	form := adminint.SenderForm{Editing: c.FormValue("editing") == "1", Address: strings.TrimSpace(c.FormValue("address")),
		ProviderSid: c.FormValue("provider_sid"), SenderID: strings.TrimSpace(c.FormValue("sender_id")),
		RateLimit: strings.TrimSpace(c.FormValue("rate_limit"))}
	params := channels.SenderParams{Address: form.Address, ProviderSid: form.ProviderSid, SenderID: form.SenderID}
	var err error
	if form.RateLimit != "" {
		if params.RateLimit, err = strconv.ParseFloat(form.RateLimit, 64); err != nil {
			err = errs.Invalidf("Messages per second must be a number, got %q", form.RateLimit)
		}
	}
	if err == nil {
		_, err = h.d.Channels.PutSender(c.UserContext(), params)
	}
	if errs.KindOf(err) == errs.NotFound {
		err = errs.Invalidf("Choose the provider account the sender belongs to")
	}
	if err != nil {
		return h.refusedWith(c, err, func(msg string) (templ.Component, error) {
			form.Error = msg
			p, err := h.numbersProps(c, adminint.ProviderForm{}, form)
			return adminint.NumbersBody(p), err
		})
	}
	p, err := h.numbersProps(c, adminint.ProviderForm{}, adminint.SenderForm{})
	if err != nil {
		return consoleFail(c, h.d.Log, err)
	}
	c.Set("HX-Push-Url", "/admin/numbers")
	return adminChanged(c, adminint.NumbersBody(p), "Sender "+form.Address+" saved.")
}

func (h adminIntegrations) deleteSender(c *fiber.Ctx) error {
	addr := c.FormValue("address")
	if err := h.d.Channels.DeleteSender(c.UserContext(), addr); err != nil {
		return consoleFail(c, h.d.Log, err)
	}
	p, err := h.numbersProps(c, adminint.ProviderForm{}, adminint.SenderForm{})
	if err != nil {
		return consoleFail(c, h.d.Log, err)
	}
	return adminChanged(c, adminint.NumbersBody(p), "Sender "+addr+" deleted.")
}

// Canned responses.

func (h adminIntegrations) cannedProps(c *fiber.Ctx, query string, form adminint.CannedForm) (adminint.CannedProps, error) {
	p := adminint.CannedProps{Nav: consoleNav(c, "/admin/canned"), Query: query, Form: form}
	workspaces, names, err := h.workspaceChoices(c)
	if err != nil {
		return p, err
	}
	p.Scopes = append([]adminint.Option{{Value: "", Label: "All workspaces"}}, workspaces...)
	rows, more, err := h.d.Desk.CannedResponses(c.UserContext(), desk.CannedFilter{Query: query}, 0, adminLists)
	if err != nil {
		return p, err
	}
	p.More = more
	for _, r := range rows {
		scope := "All workspaces"
		if r.WorkspaceSid != "" {
			scope = names[r.WorkspaceSid]
		}
		p.Responses = append(p.Responses, adminint.Canned{Sid: r.Sid, Scope: scope, Title: r.Title, Body: r.Body, Tags: r.Tags,
			DateUpdated: r.DateUpdated})
	}
	return p, nil
}

func (h adminIntegrations) canned(c *fiber.Ctx) error {
	var form adminint.CannedForm
	if sid := c.Query("edit"); sid != "" {
		r, err := h.d.Desk.CannedResponse(c.UserContext(), sid)
		switch {
		case errs.KindOf(err) == errs.NotFound:
			c.Status(fiber.StatusNotFound)
			form.Error = "That canned response was not found: it may have been deleted."
		case err != nil:
			return err
		default:
			form = adminint.CannedForm{Sid: r.Sid, Title: r.Title, Body: r.Body, Tags: strings.Join(r.Tags, ", ")}
		}
	}
	p, err := h.cannedProps(c, c.Query("q"), form)
	if err != nil {
		return err
	}
	return render(c, adminint.CannedPage(p))
}

func readCannedForm(c *fiber.Ctx) (adminint.CannedForm, desk.CannedParams) {
	f := adminint.CannedForm{WorkspaceSid: c.FormValue("workspace_sid"), Title: c.FormValue("title"), Body: c.FormValue("body"),
		Tags: c.FormValue("tags")}
	tags := listItems(f.Tags)
	return f, desk.CannedParams{Title: &f.Title, Body: &f.Body, Tags: &tags}
}

// cannedSaved answers a change: the list and an empty form.
func (h adminIntegrations) cannedSaved(c *fiber.Ctx, notice string) error {
	p, err := h.cannedProps(c, "", adminint.CannedForm{})
	if err != nil {
		return consoleFail(c, h.d.Log, err)
	}
	c.Set("HX-Push-Url", "/admin/canned")
	return adminChanged(c, adminint.CannedBody(p), notice)
}

func (h adminIntegrations) cannedRefused(c *fiber.Ctx, err error, form adminint.CannedForm) error {
	return h.refusedWith(c, err, func(msg string) (templ.Component, error) {
		form.Error = msg
		p, err := h.cannedProps(c, "", form)
		return adminint.CannedBody(p), err
	})
}

func (h adminIntegrations) createCanned(c *fiber.Ctx) error {
	form, params := readCannedForm(c)
	params.WorkspaceSid = &form.WorkspaceSid
	r, err := h.d.Desk.CreateCannedResponse(c.UserContext(), params)
	if err != nil {
		return h.cannedRefused(c, err, form)
	}
	return h.cannedSaved(c, "Canned response “"+r.Title+"” added.")
}

func (h adminIntegrations) updateCanned(c *fiber.Ctx) error {
	form, params := readCannedForm(c)
	form.Sid = c.Params("Sid")
	r, err := h.d.Desk.UpdateCannedResponse(c.UserContext(), form.Sid, params)
	if err != nil {
		return h.cannedRefused(c, err, form)
	}
	return h.cannedSaved(c, "Canned response “"+r.Title+"” saved.")
}

func (h adminIntegrations) deleteCanned(c *fiber.Ctx) error {
	if err := h.d.Desk.DeleteCannedResponse(c.UserContext(), c.Params("Sid")); err != nil {
		return consoleFail(c, h.d.Log, err)
	}
	return h.cannedSaved(c, "Canned response deleted.")
}

// Dispositions.

func (h adminIntegrations) dispositionsProps(c *fiber.Ctx, form adminint.DispositionForm) (adminint.DispositionsProps, error) {
	p := adminint.DispositionsProps{Nav: consoleNav(c, "/admin/dispositions"), Form: form}
	workspaces, names, err := h.workspaceChoices(c)
	if err != nil {
		return p, err
	}
	p.Workspaces = workspaces
	rows, more, err := h.d.Desk.Dispositions(c.UserContext(), desk.DispositionFilter{}, 0, adminLists)
	if err != nil {
		return p, err
	}
	p.More = more
	for _, r := range rows {
		p.Dispositions = append(p.Dispositions, adminint.Disposition{Sid: r.Sid, Workspace: names[r.WorkspaceSid], Code: r.Code,
			Label: r.Label, Active: r.Active})
	}
	return p, nil
}

func (h adminIntegrations) dispositions(c *fiber.Ctx) error {
	var form adminint.DispositionForm
	if sid := c.Query("edit"); sid != "" {
		r, err := h.d.Desk.Disposition(c.UserContext(), sid)
		switch {
		case errs.KindOf(err) == errs.NotFound:
			c.Status(fiber.StatusNotFound)
			form.Error = "That disposition was not found: it may have been deleted."
		case err != nil:
			return err
		default:
			form = adminint.DispositionForm{Sid: r.Sid, WorkspaceSid: r.WorkspaceSid, Code: r.Code, Label: r.Label}
		}
	}
	p, err := h.dispositionsProps(c, form)
	if err != nil {
		return err
	}
	return render(c, adminint.DispositionsPage(p))
}

func (h adminIntegrations) dispositionSaved(c *fiber.Ctx, notice string) error {
	p, err := h.dispositionsProps(c, adminint.DispositionForm{})
	if err != nil {
		return consoleFail(c, h.d.Log, err)
	}
	c.Set("HX-Push-Url", "/admin/dispositions")
	return adminChanged(c, adminint.DispositionsBody(p), notice)
}

func (h adminIntegrations) dispositionRefused(c *fiber.Ctx, err error, form adminint.DispositionForm) error {
	return h.refusedWith(c, err, func(msg string) (templ.Component, error) {
		form.Error = msg
		p, err := h.dispositionsProps(c, form)
		return adminint.DispositionsBody(p), err
	})
}

func (h adminIntegrations) createDisposition(c *fiber.Ctx) error {
	form := adminint.DispositionForm{WorkspaceSid: c.FormValue("workspace_sid"), Code: strings.TrimSpace(c.FormValue("code")),
		Label: c.FormValue("label")}
	r, err := h.d.Desk.CreateDisposition(c.UserContext(), desk.DispositionParams{WorkspaceSid: &form.WorkspaceSid, Code: &form.Code,
		Label: &form.Label})
	if err != nil {
		return h.dispositionRefused(c, err, form)
	}
	return h.dispositionSaved(c, "Disposition “"+r.Label+"” added.")
}

func (h adminIntegrations) relabelDisposition(c *fiber.Ctx) error {
	ctx, sid := c.UserContext(), c.Params("Sid")
	form := adminint.DispositionForm{Sid: sid, Label: c.FormValue("label")}
	r, err := h.d.Desk.UpdateDisposition(ctx, sid, desk.DispositionParams{Label: &form.Label})
	if err != nil {
		if old, oerr := h.d.Desk.Disposition(ctx, sid); oerr == nil {
			form.Code = old.Code
		}
		return h.dispositionRefused(c, err, form)
	}
	return h.dispositionSaved(c, "Disposition “"+r.Label+"” saved.")
}

// switchDisposition offers a disposition to agents again, or stops.
func (h adminIntegrations) switchDisposition(active bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		r, err := h.d.Desk.UpdateDisposition(c.UserContext(), c.Params("Sid"), desk.DispositionParams{Active: &active})
		if err != nil {
			return consoleFail(c, h.d.Log, err)
		}
		notice := "“" + r.Label + "” is no longer offered to agents."
		if active {
			notice = "“" + r.Label + "” is offered to agents again."
		}
		return h.dispositionSaved(c, notice)
	}
}

// API keys.

func (h adminIntegrations) keysProps(c *fiber.Ctx) (adminint.KeysProps, error) {
	p := adminint.KeysProps{Nav: consoleNav(c, "/admin/keys")}
	keys, err := h.d.Keys.APIKeys(c.UserContext())
	for _, k := range keys {
		p.Keys = append(p.Keys, adminint.Key{Sid: k.Sid, FriendlyName: k.FriendlyName, DateCreated: k.DateCreated})
	}
	return p, err
}

func (h adminIntegrations) keys(c *fiber.Ctx) error {
	p, err := h.keysProps(c)
	if err != nil {
		return err
	}
	return render(c, adminint.KeysPage(p))
}

// createKey shows the new key's secret in its answer: the one time it is
// ever shown (the store keeps it hashed and sealed).
func (h adminIntegrations) createKey(c *fiber.Ctx) error {
	name := strings.TrimSpace(c.FormValue("friendly_name"))
	key, secret, err := h.d.Keys.CreateAPIKey(c.UserContext(), name)
	if err != nil {
		return h.refusedWith(c, err, func(msg string) (templ.Component, error) {
			p, err := h.keysProps(c)
			p.Name, p.Error = name, msg
			return adminint.KeysBody(p), err
		})
	}
	p, err := h.keysProps(c)
	if err != nil {
		return consoleFail(c, h.d.Log, err)
	}
	p.Created = &adminint.CreatedKey{Sid: key.Sid, Secret: secret}
	return adminChanged(c, adminint.KeysBody(p), "API key "+key.Sid+" created: copy its secret now.")
}

func (h adminIntegrations) revokeKey(c *fiber.Ctx) error {
	sid := c.Params("Sid")
	if err := h.d.Keys.DeleteAPIKey(c.UserContext(), sid); err != nil {
		return consoleFail(c, h.d.Log, err)
	}
	p, err := h.keysProps(c)
	if err != nil {
		return consoleFail(c, h.d.Log, err)
	}
	return adminChanged(c, adminint.KeysBody(p), "API key "+sid+" revoked.")
}

// Webhooks.

func webhookFormOf(w conversations.WebhookConfig) adminint.WebhookForm {
	return adminint.WebhookForm{Scope: w.Scope, Target: w.Target, Method: w.Method, PreURL: w.PreWebhookURL, PostURL: w.PostWebhookURL,
		Filters: strings.Join(w.FilterList(), ", ")}
}

func (h adminIntegrations) webhooksProps(c *fiber.Ctx, form adminint.WebhookForm) (adminint.WebhooksProps, error) {
	p := adminint.WebhooksProps{Nav: consoleNav(c, "/admin/webhooks"), Form: form,
		Scopes: []adminint.Option{{Value: "", Label: "Account-wide"}}}
	services, _, err := h.d.Conversations.Services(c.UserContext(), conversations.Page{Limit: adminLists})
	for _, s := range services {
		p.Scopes = append(p.Scopes, adminint.Option{Value: s.Sid, Label: "Service " + s.FriendlyName + " (" + s.Sid + ")"})
	}
	return p, err
}

func (h adminIntegrations) webhooks(c *fiber.Ctx) error {
	scope := c.Query("scope")
	w, err := h.d.Conversations.WebhookConfig(c.UserContext(), scope)
	if err != nil {
		return err
	}
	p, err := h.webhooksProps(c, webhookFormOf(w))
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(p.Scopes, func(o adminint.Option) bool { return o.Value == scope }) {
		c.Status(fiber.StatusNotFound)
		if w, err = h.d.Conversations.WebhookConfig(c.UserContext(), ""); err != nil {
			return err
		}
		p.Form = webhookFormOf(w)
		p.Form.Error = "There is no service " + scope + ": this is the account-wide configuration."
	}
	return render(c, adminint.WebhooksPage(p))
}

func (h adminIntegrations) updateWebhooks(c *fiber.Ctx) error {
	form := adminint.WebhookForm{Scope: c.FormValue("scope"), Target: c.FormValue("target"), Method: c.FormValue("method"),
		PreURL: strings.TrimSpace(c.FormValue("pre_webhook_url")), PostURL: strings.TrimSpace(c.FormValue("post_webhook_url")),
		Filters: c.FormValue("filters")}
	params := conversations.WebhookConfigParams{Method: &form.Method, PreWebhookURL: &form.PreURL, PostWebhookURL: &form.PostURL,
		Filters: listItems(form.Filters)}
	if form.Scope == "" {
		params.Target = &form.Target
	}
	w, err := h.d.Conversations.UpdateWebhookConfig(c.UserContext(), form.Scope, params)
	if err != nil {
		return h.refusedWith(c, err, func(msg string) (templ.Component, error) {
			form.Error = msg
			p, err := h.webhooksProps(c, form)
			return adminint.WebhooksBody(p), err
		})
	}
	saved := webhookFormOf(w)
	saved.Saved = true
	p, err := h.webhooksProps(c, saved)
	if err != nil {
		return consoleFail(c, h.d.Log, err)
	}
	return adminChanged(c, adminint.WebhooksBody(p), "Webhook configuration saved.")
}

// Failed durable jobs.

func (h adminIntegrations) jobsProps(c *fiber.Ctx, kind string) (adminint.JobsProps, error) {
	ctx := c.UserContext()
	p := adminint.JobsProps{Nav: consoleNav(c, "/admin/jobs"), Kind: kind, Limit: adminFailedJobs}
	kinds, err := h.d.Jobs.FailedKinds(ctx)
	if err != nil {
		return p, err
	}
	for _, k := range kinds {
		p.Kinds = append(p.Kinds, adminint.JobKind{Kind: k.Kind, Count: k.Count})
	}
	failed, err := h.d.Jobs.FailedJobs(ctx, kind, adminFailedJobs)
	for _, j := range failed {
		p.Jobs = append(p.Jobs, adminint.FailedJob{ID: j.ID, Kind: j.Kind, Summary: jobs.Summary(j.Payload), Attempts: j.Attempts,
			LastError: jobs.Redact(j.LastError), Failed: j.DateUpdated})
	}
	return p, err
}

func (h adminIntegrations) jobs(c *fiber.Ctx) error {
	p, err := h.jobsProps(c, c.Query("kind"))
	if err != nil {
		return err
	}
	return render(c, adminint.JobsPage(p))
}

// jobsRetried answers a retry: the list as it was shown (one kind or all).
func (h adminIntegrations) jobsRetried(c *fiber.Ctx, notice string) error {
	p, err := h.jobsProps(c, c.FormValue("shown"))
	if err != nil {
		return consoleFail(c, h.d.Log, err)
	}
	return adminChanged(c, adminint.JobsBody(p), notice)
}

func (h adminIntegrations) retryJob(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("ID"), 10, 64)
	if err != nil {
		return consoleFail(c, h.d.Log, errs.NotFoundf("There is no job %q", c.Params("ID")))
	}
	merged, err := h.d.Jobs.Retry(c.UserContext(), id)
	if err != nil {
		return consoleFail(c, h.d.Log, err)
	}
	if merged {
		return h.jobsRetried(c, "Job "+strconv.FormatInt(id, 10)+"'s work is already waiting in a newer job, which will run it; this one is closed.")
	}
	return h.jobsRetried(c, "Job "+strconv.FormatInt(id, 10)+" runs again now.")
}

func (h adminIntegrations) retryKind(c *fiber.Ctx) error {
	kind := c.FormValue("kind")
	n, err := h.d.Jobs.RetryKind(c.UserContext(), kind)
	if err != nil {
		return consoleFail(c, h.d.Log, err)
	}
	if n == 0 {
		return consoleFail(c, h.d.Log, errs.NotFoundf("No %s jobs have failed: they may have been retried already", kind))
	}
	return h.jobsRetried(c, strconv.Itoa(n)+" "+kind+" jobs run again now.")
}
