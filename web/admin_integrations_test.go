package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/interactions/desk"
	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/jobs"
	"github.com/switchboardhq/switchboard/web/webtest"
)

// adminIntAs signs a member of staff in with roles.
func adminIntAs(t *testing.T, s *webtest.Server, email, name string, roles ...string) deskAgent {
	t.Helper()
	cookie, csrf, staff := s.SignIn(t, email, name, roles...)
	return deskAgent{t: t, s: s, cookie: cookie, csrf: csrf, staff: staff}
}

// adminIntAdmin is a signed-in admin.
func adminIntAdmin(t *testing.T, s *webtest.Server) deskAgent {
	t.Helper()
	return adminIntAs(t, s, "ada@example.com", "Ada", auth.RoleAdmin)
}

// page fetches an admin page as the browser does, wanting status.
func (a deskAgent) page(status int, path string) string {
	a.t.Helper()
	return a.want(status, request{method: http.MethodGet, path: path, plain: true})
}

// post sends an htmx form post, wanting status.
func (a deskAgent) post(status int, path string, form url.Values) string {
	a.t.Helper()
	return a.want(status, request{method: http.MethodPost, path: path, form: form})
}

// formError is the refusal a re-rendered form shows.
func formError(t *testing.T, body string) string {
	t.Helper()
	m := regexp.MustCompile(`data-testid="form-error">([^<]*)<`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no form error in:\n%.2000s", body)
	}
	return html.UnescapeString(m[1])
}

// chatAddress configures a chat address that auto-creates conversations.
func chatAddress(t *testing.T, s *webtest.Server, address string) string {
	t.Helper()
	a, err := s.Engine.CreateAddressConfiguration(t.Context(), conversations.AddressConfigurationParams{Type: new("chat"),
		Address: new(address), FriendlyName: new("Website chat"), AutoCreationEnabled: new(true)})
	if err != nil {
		t.Fatal(err)
	}
	return a.Sid
}

func TestAdminIntegrationPagesAreForAdminsOnly(t *testing.T) {
	s := webtest.Start(t, dbtest.Open(t, db.SQLite))
	const x = "XX00000000000000000000000000000000"
	routes := []struct{ method, path string }{
		{"GET", "/admin/webchat"}, {"POST", "/admin/webchat"}, {"POST", "/admin/webchat/addresses"}, {"POST", "/admin/webchat/" + x},
		{"POST", "/admin/webchat/" + x + "/rotate"}, {"POST", "/admin/webchat/" + x + "/delete"},
		{"GET", "/admin/numbers"}, {"POST", "/admin/numbers/providers"}, {"POST", "/admin/numbers/providers/" + x},
		{"POST", "/admin/numbers/providers/" + x + "/delete"}, {"POST", "/admin/numbers/senders"}, {"POST", "/admin/numbers/senders/delete"},
		{"GET", "/admin/canned"}, {"POST", "/admin/canned"}, {"POST", "/admin/canned/" + x}, {"POST", "/admin/canned/" + x + "/delete"},
		{"GET", "/admin/dispositions"}, {"POST", "/admin/dispositions"}, {"POST", "/admin/dispositions/" + x},
		{"POST", "/admin/dispositions/" + x + "/activate"}, {"POST", "/admin/dispositions/" + x + "/deactivate"},
		{"GET", "/admin/keys"}, {"POST", "/admin/keys"}, {"POST", "/admin/keys/" + x + "/revoke"},
		{"GET", "/admin/webhooks"}, {"POST", "/admin/webhooks"},
		{"GET", "/admin/jobs"}, {"POST", "/admin/jobs/retry-kind"}, {"POST", "/admin/jobs/1/retry"},
	}
	agent := adminIntAs(t, s, "agnes@example.com", "Agnes", auth.RoleAgent)
	sup := adminIntAs(t, s, "sue@example.com", "Sue", auth.RoleSupervisor)
	admin := adminIntAdmin(t, s)
	keys, _ := s.Accounts.APIKeys(t.Context())
	for _, r := range routes {
		for _, who := range []deskAgent{agent, sup} {
			req := request{method: r.method, path: r.path, form: url.Values{"friendly_name": {"x"}}}
			if r.method == http.MethodGet {
				req = request{method: r.method, path: r.path, plain: true}
			}
			if res, body := who.do(req); res.StatusCode != http.StatusForbidden {
				t.Errorf("%s %s as %s: %d, want 403\n%.300s", r.method, r.path, who.staff.Name, res.StatusCode, body)
			}
		}
		if r.method == http.MethodGet {
			admin.page(http.StatusOK, r.path)
		}
	}
	if after, _ := s.Accounts.APIKeys(t.Context()); len(after) != len(keys) {
		t.Fatalf("a refused request made an API key: %d keys, had %d", len(after), len(keys))
	}
}

func TestAdminWebchatCreatesEditsRotatesAndDeletesDeploymentsWithTheirSnippet(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		ctx := t.Context()
		admin := adminIntAdmin(t, s)
		if page := admin.page(http.StatusOK, "/admin/webchat"); !strings.Contains(page, "add one below") {
			t.Fatalf("without a chat address the page does not say to add one:\n%s", page)
		}
		if msg := formError(t, admin.post(http.StatusBadRequest, "/admin/webchat/addresses", url.Values{"friendly_name": {"Site"}})); !strings.Contains(msg, "Address is required") {
			t.Fatalf("a chat address without its address says %q", msg)
		}
		body := admin.post(http.StatusOK, "/admin/webchat/addresses", url.Values{"friendly_name": {"Site chat"}, "address": {"site-chat"}})
		a, err := s.Engine.AddressConfiguration(ctx, "site-chat")
		if err != nil || a.Type != "chat" || !a.AutoCreationEnabled || a.FriendlyName != "Site chat" {
			t.Fatalf("the chat address made: %+v %v", a, err)
		}
		address := a.Sid
		if !strings.Contains(body, `<option value="`+address+`" selected>`) {
			t.Fatalf("the new chat address is not chosen in the form:\n%s", body)
		}
		if msg := formError(t, admin.post(http.StatusConflict, "/admin/webchat/addresses", url.Values{"address": {"site-chat"}})); !strings.Contains(msg, "already exists") {
			t.Fatalf("a second chat address for site-chat says %q", msg)
		}
		page := admin.page(http.StatusOK, "/admin/webchat")
		if !strings.Contains(page, "No deployments yet") || !strings.Contains(page, address) {
			t.Fatalf("the empty page does not offer the chat address:\n%s", page)
		}
		good := url.Values{"friendly_name": {"Main site"}, "title": {"Talk to us"}, "address_configuration_sid": {address},
			"allowed_origins": {"https://www.example.com\n\nhttps://shop.example.com/\n"}, "welcome_message": {"Hello!"},
			"brand_color": {"#112233"}, "ask_friendly_name": {"on"}, "label_friendly_name": {"Your name"}, "required_friendly_name": {"on"},
			"ask_query": {"on"}, "label_query": {"Question"}}
		for _, tc := range []struct {
			name, field, value, want string
		}{
			{"no address", "address_configuration_sid", "", "AddressConfigurationSid is required"},
			{"an address that is not one", "address_configuration_sid", "IG00000000000000000000000000000000", "is not an address configuration"},
			{"a bad colour", "brand_color", "red", "BrandColor must be a colour"},
			{"a bad origin", "allowed_origins", "not a url", "not a url"},
		} {
			bad := url.Values{}
			for k, v := range good {
				bad[k] = v
			}
			bad.Set(tc.field, tc.value)
			body := admin.post(http.StatusBadRequest, "/admin/webchat", bad)
			if msg := formError(t, body); !strings.Contains(msg, tc.want) {
				t.Errorf("%s: the form says %q, want %q", tc.name, msg, tc.want)
			}
			if !strings.Contains(body, `value="Main site"`) {
				t.Errorf("%s: the refused form lost what was typed", tc.name)
			}
		}
		if rows, _, _ := s.Webchat.Deployments(ctx, conversations.Page{Limit: 10}); len(rows) != 0 {
			t.Fatalf("refused forms made deployments: %+v", rows)
		}

		body = admin.post(http.StatusOK, "/admin/webchat", good)
		rows, _, err := s.Webchat.Deployments(ctx, conversations.Page{Limit: 10})
		if err != nil || len(rows) != 1 {
			t.Fatalf("deployments after create: %+v %v", rows, err)
		}
		d := rows[0]
		if d.Title != "Talk to us" || d.BrandColor != "#112233" || strings.Join(d.AllowedOrigins, " ") != "https://www.example.com https://shop.example.com" ||
			!d.PreEngagement.Fields[0].Required || len(d.PreEngagement.Fields) != 2 || d.PreEngagement.Fields[1].Label != "Question" {
			t.Fatalf("created %+v", d)
		}
		snippet := `&lt;script src=&#34;` + s.URL + `/static/webchat.js&#34; data-deployment-key=&#34;` + d.Key + `&#34; async&gt;&lt;/script&gt;`
		if !strings.Contains(body, snippet) || !strings.Contains(body, "Deployment created") {
			t.Fatalf("the answer to create does not show the snippet %s:\n%s", snippet, body)
		}
		// The REST API sees the same deployment.
		res, raw := adminForm(t, s, "GET", "/v1/Webchat/Deployments/"+d.Sid, nil)
		if res.StatusCode != http.StatusOK || !strings.Contains(string(raw), `"title":"Talk to us"`) {
			t.Fatalf("REST fetch: %d %s", res.StatusCode, raw)
		}

		edit := admin.page(http.StatusOK, "/admin/webchat?edit="+d.Sid)
		if !strings.Contains(edit, snippet) || !strings.Contains(edit, `value="Your name"`) {
			t.Fatalf("the edit page:\n%s", edit)
		}
		changed := url.Values{}
		for k, v := range good {
			changed[k] = v
		}
		changed.Set("title", "Help")
		changed.Del("ask_friendly_name")
		changed.Del("ask_query")
		admin.post(http.StatusOK, "/admin/webchat/"+d.Sid, changed)
		after, _ := s.Webchat.Deployment(ctx, d.Sid)
		if after.Title != "Help" || !after.PreEngagement.Disabled || after.Key != d.Key {
			t.Fatalf("after edit %+v", after)
		}
		changed.Set("brand_color", "#12")
		if msg := formError(t, admin.post(http.StatusBadRequest, "/admin/webchat/"+d.Sid, changed)); !strings.Contains(msg, "BrandColor") {
			t.Fatalf("bad edit says %q", msg)
		}
		if again, _ := s.Webchat.Deployment(ctx, d.Sid); again.BrandColor != "#112233" {
			t.Fatalf("a refused edit changed the colour to %s", again.BrandColor)
		}

		rotated := admin.post(http.StatusOK, "/admin/webchat/"+d.Sid+"/rotate", url.Values{})
		r, _ := s.Webchat.Deployment(ctx, d.Sid)
		if r.Key == d.Key || !strings.Contains(rotated, r.Key) || strings.Contains(rotated, d.Key) {
			t.Fatalf("rotate: key %s → %s", d.Key, r.Key)
		}

		admin.post(http.StatusOK, "/admin/webchat/"+d.Sid+"/delete", url.Values{})
		if _, err := s.Webchat.Deployment(ctx, d.Sid); err == nil {
			t.Fatal("the deployment is still there after delete")
		}
		if body := admin.post(http.StatusNotFound, "/admin/webchat/"+d.Sid+"/delete", url.Values{}); !strings.Contains(body, "was not found") {
			t.Fatalf("deleting again: %s", body)
		}
	})
}

// assertNoSecret fails when any of secrets shows in body.
func assertNoSecret(t *testing.T, where, body string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(body, s) {
			t.Fatalf("%s shows the secret %q", where, s)
		}
	}
}

func TestAdminNumbersKeepProviderSecretsWriteOnlyAndRouteSenders(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		ctx := t.Context()
		admin := adminIntAdmin(t, s)
		const token, appSecret, verify = "twilioAuthToken0123456789abcdef", "metaAppSecret9876", "verifyMe5555"
		const acct = "AC0123456789abcdef0123456789abcdef"
		secrets := []string{token, appSecret, verify}

		body := admin.post(http.StatusBadRequest, "/admin/numbers/providers", url.Values{"kind": {"twilio"}, "friendly_name": {"US"},
			"secret": {token}})
		if msg := formError(t, body); !strings.Contains(msg, "AccountId") {
			t.Fatalf("a Twilio account without its SID says %q", msg)
		}
		assertNoSecret(t, "the refused provider form", body, secrets...)
		if all, _ := s.Channels.Providers(ctx); len(all) != 0 {
			t.Fatalf("a refused form made %+v", all)
		}

		body = admin.post(http.StatusOK, "/admin/numbers/providers", url.Values{"kind": {"twilio"}, "friendly_name": {"US"},
			"account_id": {acct}, "secret": {token}})
		assertNoSecret(t, "the answer to create", body, secrets...)
		all, _ := s.Channels.Providers(ctx)
		if len(all) != 1 || all[0].Secret == "" || all[0].Secret == token {
			t.Fatalf("providers %+v: want one with a sealed secret", all)
		}
		tw := all[0]
		if !strings.Contains(body, "Secret:\n") && !strings.Contains(body, s.Channels.WebhookURL(tw.Sid)) {
			t.Fatalf("the list does not show the webhook URL:\n%s", body)
		}
		body = admin.post(http.StatusOK, "/admin/numbers/providers", url.Values{"kind": {"whatsapp_cloud"}, "friendly_name": {"WA"},
			"secret": {token + "WA"}, "app_secret": {appSecret}, "verify_token": {verify}})
		assertNoSecret(t, "the answer to create a WhatsApp account", body, secrets...)

		// An edit with the secret left empty keeps it.
		admin.post(http.StatusOK, "/admin/numbers/providers/"+tw.Sid, url.Values{"friendly_name": {"US numbers"}, "account_id": {acct}})
		kept, _ := s.Channels.Provider(ctx, tw.Sid)
		if kept.FriendlyName != "US numbers" || kept.Secret != tw.Secret {
			t.Fatalf("after an edit without a secret: %+v", kept)
		}
		body = admin.post(http.StatusBadRequest, "/admin/numbers/providers/"+tw.Sid, url.Values{"friendly_name": {"x"}, "account_id": {"nope"},
			"secret": {token}})
		if msg := formError(t, body); !strings.Contains(msg, "AccountId") {
			t.Fatalf("a bad edit says %q", msg)
		}
		if still, _ := s.Channels.Provider(ctx, tw.Sid); still.FriendlyName != "US numbers" {
			t.Fatalf("a refused edit changed the account: %+v", still)
		}

		for _, tc := range []struct{ address, rate, want string }{
			{"555-1234", "0", "Address must be +E164"},
			{"+15550001111", "fast", "must be a number"},
			{"+15550001111", "5000", "RateLimit must be between"},
		} {
			body := admin.post(http.StatusBadRequest, "/admin/numbers/senders", url.Values{"address": {tc.address}, "provider_sid": {tw.Sid},
				"rate_limit": {tc.rate}})
			if msg := formError(t, body); !strings.Contains(msg, tc.want) {
				t.Errorf("sender %s at %s says %q, want %q", tc.address, tc.rate, msg, tc.want)
			}
		}
		if msg := formError(t, admin.post(http.StatusBadRequest, "/admin/numbers/senders", url.Values{"address": {"+15550001111"}})); !strings.Contains(msg, "provider account") {
			t.Fatalf("a sender without a provider says %q", msg)
		}
		if snd, _ := s.Channels.Senders(ctx); len(snd) != 0 {
			t.Fatalf("refused forms made senders %+v", snd)
		}
		a, err := s.Engine.CreateAddressConfiguration(ctx, conversations.AddressConfigurationParams{Type: new("sms"),
			Address: new("+15550001111"), FriendlyName: new("Support line"), AutoCreationEnabled: new(true)})
		if err != nil {
			t.Fatal(err)
		}
		body = admin.post(http.StatusOK, "/admin/numbers/senders", url.Values{"address": {"+15550001111"}, "provider_sid": {tw.Sid},
			"rate_limit": {"2.5"}})
		if !strings.Contains(body, a.Sid) || !strings.Contains(body, "Support line") || !strings.Contains(body, "2.5/s") ||
			!strings.Contains(body, `href="/admin/numbers?sender=%2B15550001111"`) {
			t.Fatalf("the sender's row does not name its address configuration:\n%s", body)
		}
		if msg := admin.post(http.StatusConflict, "/admin/numbers/providers/"+tw.Sid+"/delete", url.Values{}); !strings.Contains(msg, "still has 1 senders") {
			t.Fatalf("deleting a provider in use: %s", msg)
		}

		for _, path := range []string{"/admin/numbers", "/admin/numbers?provider=" + tw.Sid, "/admin/numbers?sender=%2B15550001111"} {
			page := admin.page(http.StatusOK, path)
			assertNoSecret(t, path, page, secrets...)
			if strings.Contains(page, tw.Secret) {
				t.Fatalf("%s shows the sealed secret", path)
			}
		}
		// The REST API sees the same senders.
		res, raw := adminForm(t, s, "GET", "/v1/Channels/Senders", nil)
		if res.StatusCode != http.StatusOK || !strings.Contains(string(raw), `"rate_limit":2.5`) {
			t.Fatalf("REST senders: %d %s", res.StatusCode, raw)
		}
		admin.post(http.StatusOK, "/admin/numbers/senders/delete", url.Values{"address": {"+15550001111"}})
		admin.post(http.StatusOK, "/admin/numbers/providers/"+tw.Sid+"/delete", url.Values{})
		if left, _ := s.Channels.Providers(ctx); len(left) != 1 || left[0].Kind != "whatsapp_cloud" {
			t.Fatalf("providers left: %+v", left)
		}
	})
}

func TestAdminCannedResponsesAndDispositionsChangeTheDesksData(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		ctx := t.Context()
		admin := adminIntAdmin(t, s)
		ws := admin.staff.WorkspaceSid

		if msg := formError(t, admin.post(http.StatusBadRequest, "/admin/canned", url.Values{"title": {" "}, "body": {"Hi"}})); !strings.Contains(msg, "Title") {
			t.Fatalf("an empty title says %q", msg)
		}
		if msg := formError(t, admin.post(http.StatusBadRequest, "/admin/canned", url.Values{"title": {"Hi"}, "body": {"Hello"},
			"tags": {"ok, \"quoted\""}})); !strings.Contains(msg, "Tag") {
			t.Fatalf("a bad tag says %q", msg)
		}
		body := admin.post(http.StatusOK, "/admin/canned", url.Values{"workspace_sid": {ws}, "title": {"Greeting"},
			"body": {"Hello, how can I help?"}, "tags": {"Greeting, Opening"}})
		rows, _, _ := s.Desk.CannedResponses(ctx, desk.CannedFilter{}, 0, 10)
		if len(rows) != 1 || rows[0].WorkspaceSid != ws || strings.Join(rows[0].Tags, ",") != "greeting,opening" {
			t.Fatalf("canned responses %+v", rows)
		}
		if !strings.Contains(body, "Hello, how can I help?") {
			t.Fatalf("the list does not show the new response:\n%s", body)
		}
		sid := rows[0].Sid
		if page := admin.page(http.StatusOK, "/admin/canned?edit="+sid); !strings.Contains(page, `value="greeting, opening"`) {
			t.Fatalf("the edit form:\n%s", page)
		}
		admin.post(http.StatusOK, "/admin/canned/"+sid, url.Values{"title": {"Hello"}, "body": {"Hi there"}, "tags": {""}})
		if r, _ := s.Desk.CannedResponse(ctx, sid); r.Title != "Hello" || len(r.Tags) != 0 {
			t.Fatalf("after edit %+v", r)
		}
		if page := admin.page(http.StatusOK, "/admin/canned?q=nothing-like-it"); strings.Contains(page, "Hi there") {
			t.Fatal("the search kept a response that does not match")
		}
		admin.post(http.StatusOK, "/admin/canned/"+sid+"/delete", url.Values{})
		if _, err := s.Desk.CannedResponse(ctx, sid); err == nil {
			t.Fatal("the response survived delete")
		}

		for _, tc := range []struct {
			form url.Values
			want string
		}{
			{url.Values{"workspace_sid": {ws}, "code": {"bad code!"}, "label": {"Bad"}}, "Code is required"},
			{url.Values{"workspace_sid": {"WS00000000000000000000000000000000"}, "code": {"ok"}, "label": {"OK"}}, "is not a workspace"},
			{url.Values{"workspace_sid": {ws}, "code": {"ok"}, "label": {""}}, "Label must be"},
		} {
			if msg := formError(t, admin.post(http.StatusBadRequest, "/admin/dispositions", tc.form)); !strings.Contains(msg, tc.want) {
				t.Errorf("%v says %q, want %q", tc.form, msg, tc.want)
			}
		}
		admin.post(http.StatusOK, "/admin/dispositions", url.Values{"workspace_sid": {ws}, "code": {"resolved"}, "label": {"Resolved"}})
		if body := admin.post(http.StatusConflict, "/admin/dispositions", url.Values{"workspace_sid": {ws}, "code": {"resolved"}, "label": {"Again"}}); !strings.Contains(formError(t, body), "already has") {
			t.Fatalf("a duplicate code: %s", body)
		}
		ds, _, _ := s.Desk.Dispositions(ctx, desk.DispositionFilter{}, 0, 10)
		if len(ds) != 1 || !ds[0].Active || ds[0].Code != "resolved" {
			t.Fatalf("dispositions %+v", ds)
		}
		admin.post(http.StatusOK, "/admin/dispositions/"+ds[0].Sid, url.Values{"label": {"Solved"}})
		body = admin.post(http.StatusOK, "/admin/dispositions/"+ds[0].Sid+"/deactivate", url.Values{})
		if d, _ := s.Desk.Disposition(ctx, ds[0].Sid); d.Active || d.Label != "Solved" {
			t.Fatalf("after relabel and deactivate %+v", d)
		}
		if !strings.Contains(body, "inactive") || !strings.Contains(body, "/activate") {
			t.Fatalf("the list does not offer to activate it again:\n%s", body)
		}
		admin.post(http.StatusOK, "/admin/dispositions/"+ds[0].Sid+"/activate", url.Values{})
		if d, _ := s.Desk.Disposition(ctx, ds[0].Sid); !d.Active {
			t.Fatal("activate did not")
		}
		if msg := formError(t, admin.post(http.StatusBadRequest, "/admin/dispositions/"+ds[0].Sid, url.Values{"label": {" "}})); !strings.Contains(msg, "Label") {
			t.Fatalf("an empty label says %q", msg)
		}
	})
}

func TestAdminAPIKeysShowTheSecretOnceWorkForTheAPIAndStopWhenRevoked(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		admin := adminIntAdmin(t, s)
		if msg := formError(t, admin.post(http.StatusBadRequest, "/admin/keys", url.Values{"friendly_name": {strings.Repeat("k", 65)}})); !strings.Contains(msg, "64") {
			t.Fatalf("a long name says %q", msg)
		}
		body := admin.post(http.StatusOK, "/admin/keys", url.Values{"friendly_name": {"CRM"}})
		m := regexp.MustCompile(`id="created-sid">(SK[0-9a-f]{32})<`).FindStringSubmatch(body)
		n := regexp.MustCompile(`data-testid="secret">([A-Za-z0-9]{32})<`).FindStringSubmatch(body)
		if m == nil || n == nil || !strings.Contains(body, "shown only this once") {
			t.Fatalf("the answer to create does not show the key and its secret once:\n%s", body)
		}
		keySid, secret := m[1], n[1]
		page := admin.page(http.StatusOK, "/admin/keys")
		if !strings.Contains(page, keySid) || !strings.Contains(page, "CRM") {
			t.Fatalf("the list does not show the key:\n%s", page)
		}
		assertNoSecret(t, "the keys page", page, secret)

		client := s.Client(keySid, secret)
		if _, err := client.ConversationsV1.FetchConfiguration(); err != nil {
			t.Fatalf("the new key does not authenticate the API: %v", err)
		}
		body = admin.post(http.StatusOK, "/admin/keys/"+keySid+"/revoke", url.Values{})
		if strings.Contains(body, keySid+"</code>") {
			t.Fatalf("the revoked key is still listed:\n%s", body)
		}
		_, err := client.ConversationsV1.FetchConfiguration()
		if err == nil || !strings.Contains(err.Error(), "20003") {
			t.Fatalf("a revoked key still authenticates: %v", err)
		}
		if body := admin.post(http.StatusNotFound, "/admin/keys/"+keySid+"/revoke", url.Values{}); !strings.Contains(body, "not found") {
			t.Fatalf("revoking again: %s", body)
		}
	})
}

func TestAdminWebhooksValidateURLsAndFiltersAndSaveWhatTheAPIReads(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		ctx := t.Context()
		admin := adminIntAdmin(t, s)
		good := url.Values{"scope": {""}, "target": {"webhook"}, "method": {"POST"}, "pre_webhook_url": {"https://hooks.example.com/pre"},
			"post_webhook_url": {"https://hooks.example.com/post"}, "filters": {"onMessageAdd, onMessageAdded\nonConversationAdded"}}
		for _, tc := range []struct{ field, value, want string }{
			{"pre_webhook_url", "ftp://example.com", "PreWebhookUrl must be an absolute http or https URL"},
			{"post_webhook_url", "/relative", "PostWebhookUrl must be"},
			{"filters", "onMessageAdd, onTeaTime", "unknown event \"onTeaTime\""},
			{"method", "PUT", "Method must be GET or POST"},
			{"target", "pigeon", "Target must be webhook or flex"},
		} {
			bad := url.Values{}
			for k, v := range good {
				bad[k] = v
			}
			bad.Set(tc.field, tc.value)
			if msg := formError(t, admin.post(http.StatusBadRequest, "/admin/webhooks", bad)); !strings.Contains(msg, tc.want) {
				t.Errorf("%s=%s says %q, want %q", tc.field, tc.value, msg, tc.want)
			}
		}
		if w, _ := s.Engine.WebhookConfig(ctx, ""); w.PreWebhookURL != "" || w.Filters != "[]" {
			t.Fatalf("refused forms changed the configuration: %+v", w)
		}
		body := admin.post(http.StatusOK, "/admin/webhooks", good)
		if !strings.Contains(body, "Saved.") || !strings.Contains(body, "onMessageAdd, onMessageAdded, onConversationAdded") {
			t.Fatalf("the saved form:\n%s", body)
		}
		res, raw := adminForm(t, s, "GET", "/v1/Configuration/Webhooks", nil)
		var got struct {
			PreWebhookURL string   `json:"pre_webhook_url"`
			Filters       []string `json:"filters"`
		}
		if res.StatusCode != http.StatusOK || json.Unmarshal(raw, &got) != nil || got.PreWebhookURL != "https://hooks.example.com/pre" || len(got.Filters) != 3 {
			t.Fatalf("REST configuration: %d %s", res.StatusCode, raw)
		}
		// A service's own configuration.
		svc := newService(t, s, "support")
		if page := admin.page(http.StatusOK, "/admin/webhooks?scope="+svc); !strings.Contains(page, `<option value="`+svc+`" selected`) {
			t.Fatalf("the service's page:\n%s", page)
		}
		admin.post(http.StatusOK, "/admin/webhooks", url.Values{"scope": {svc}, "method": {"GET"}, "post_webhook_url": {"https://svc.example.com/post"},
			"filters": {"onMessageAdded"}})
		if w, _ := s.Engine.WebhookConfig(ctx, svc); w.Method != "GET" || w.PostWebhookURL != "https://svc.example.com/post" {
			t.Fatalf("service configuration %+v", w)
		}
		if page := admin.page(http.StatusNotFound, "/admin/webhooks?scope=IS00000000000000000000000000000000"); !strings.Contains(page, "https://hooks.example.com/pre") ||
			!strings.Contains(formError(t, page), "There is no service") {
			t.Fatalf("an unknown service's page:\n%s", page)
		}
		// User events are the account-wide configuration's only.
		if msg := formError(t, admin.post(http.StatusBadRequest, "/admin/webhooks", url.Values{"scope": {svc}, "filters": {"onUserAdded"},
			"method": {"POST"}})); !strings.Contains(msg, `unknown event "onUserAdded"`) {
			t.Fatalf("a user event on a service says %q", msg)
		}
	})
}

func TestAdminFailedJobsHideSecretsAndARetriedJobRuns(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		ctx := t.Context()
		admin := adminIntAdmin(t, s)
		if page := admin.page(http.StatusOK, "/admin/jobs"); !strings.Contains(page, "No failed jobs") {
			t.Fatalf("the empty page:\n%s", page)
		}
		fixed := false
		runs := map[string]int{}
		handler := func(ctx context.Context, payload string) error {
			runs[payload]++
			if !fixed {
				return jobs.Permanent(errors.New("receiver https://user:hunter3@hooks.example.com/in?key=k3y answered 500"))
			}
			return nil
		}
		s.Jobs.Handle("test.admin-hook", handler)
		s.Jobs.Handle("test.admin-other", handler)
		payloads := []string{
			`{"url":"https://user:hunter2@hooks.example.com/in?sig=topsecret","secret":"s3cr3t-value","body":"private message","attempt":1}`,
			`{"url":"https://hooks.example.com/two","token":"idem-token-777"}`,
		}
		err := s.DB.InTx(ctx, func(tx *db.Tx) error {
			for _, p := range payloads {
				if err := jobs.Enqueue(tx, "test.admin-hook", p, s.Jobs.Now()); err != nil {
					return err
				}
			}
			return jobs.Enqueue(tx, "test.admin-other", "CH00000000000000000000000000000001", s.Jobs.Now())
		})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := s.Jobs.RunDue(ctx); n != 3 || err != nil {
			t.Fatalf("RunDue = %d, %v", n, err)
		}
		page := admin.page(http.StatusOK, "/admin/jobs")
		for _, want := range []string{"test.admin-hook", "receiver https://hooks.example.com/in answered 500", "https://hooks.example.com/in", "attempt=1",
			"CH00000000000000000000000000000001"} {
			if !strings.Contains(page, want) {
				t.Errorf("the page does not show %q", want)
			}
		}
		assertNoSecret(t, "the failed jobs page", page, "hunter2", "topsecret", "s3cr3t-value", "private message", "idem-token-777", "hunter3", "k3y")

		failed, _ := s.Jobs.FailedJobs(ctx, "test.admin-other", 10)
		if len(failed) != 1 {
			t.Fatalf("failed other jobs %+v", failed)
		}
		fixed = true
		body := admin.post(http.StatusOK, "/admin/jobs/"+strconv.FormatInt(failed[0].ID, 10)+"/retry", url.Values{"shown": {""}})
		if !strings.Contains(body, "runs again now") || strings.Contains(body, "CH00000000000000000000000000000001") {
			t.Fatalf("the answer to retry:\n%s", body)
		}
		if n, _ := s.Jobs.RunDue(ctx); n != 1 || runs["CH00000000000000000000000000000001"] != 2 {
			t.Fatalf("after retry RunDue ran %d, runs %v", n, runs)
		}
		admin.post(http.StatusNotFound, "/admin/jobs/"+strconv.FormatInt(failed[0].ID, 10)+"/retry", url.Values{})

		body = admin.post(http.StatusOK, "/admin/jobs/retry-kind", url.Values{"kind": {"test.admin-hook"}, "shown": {"test.admin-hook"}})
		if !strings.Contains(body, "2 test.admin-hook jobs run again now") {
			t.Fatalf("retry all:\n%s", body)
		}
		if n, _ := s.Jobs.RunDue(ctx); n != 2 {
			t.Fatalf("after retrying a kind RunDue ran %d", n)
		}
		if page := admin.page(http.StatusOK, "/admin/jobs"); !strings.Contains(page, "No failed jobs") {
			t.Fatalf("failed jobs left:\n%s", page)
		}
		admin.post(http.StatusNotFound, "/admin/jobs/retry-kind", url.Values{"kind": {"test.admin-hook"}})
	})
}
