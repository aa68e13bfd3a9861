package web

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/interactions/desk"
)

// deskAPI is the REST admin API of the desk's data: canned responses and
// dispositions. Switchboard's own resources (Flex keeps the equivalents in
// plugins), in the same wire format as the rest of /v1.
type deskAPI struct {
	*restAPI
	desk *desk.Service
}

// addDeskDataRoutes mounts /v1/Desk/CannedResponses and /v1/Desk/Dispositions.
func (a *restAPI) addDeskDataRoutes(v1 fiber.Router, dk *desk.Service) {
	h := &deskAPI{restAPI: a, desk: dk}
	v1.Post("/Desk/CannedResponses", h.createCanned)
	v1.Get("/Desk/CannedResponses", h.listCanned)
	v1.Get("/Desk/CannedResponses/:Sid", h.fetchCanned)
	v1.Post("/Desk/CannedResponses/:Sid", h.updateCanned)
	v1.Delete("/Desk/CannedResponses/:Sid", h.deleteCanned)
	v1.Post("/Desk/Dispositions", h.createDisposition)
	v1.Get("/Desk/Dispositions", h.listDispositions)
	v1.Get("/Desk/Dispositions/:Sid", h.fetchDisposition)
	v1.Post("/Desk/Dispositions/:Sid", h.updateDisposition)
	v1.Delete("/Desk/Dispositions/:Sid", h.deleteDisposition)
}

type cannedJSON struct {
	AccountSid   string   `json:"account_sid"`
	Sid          string   `json:"sid"`
	WorkspaceSid *string  `json:"workspace_sid"` // null: global
	Title        string   `json:"title"`
	Body         string   `json:"body"`
	Tags         []string `json:"tags"`
	DateCreated  string   `json:"date_created"`
	DateUpdated  string   `json:"date_updated"`
	URL          string   `json:"url"`
}

func (h *deskAPI) cannedJSON(c *fiber.Ctx, r desk.CannedResponse) cannedJSON {
	out := cannedJSON{AccountSid: h.conv.AccountSid(), Sid: r.Sid, Title: r.Title, Body: r.Body, Tags: r.Tags,
		DateCreated: isoTime(r.DateCreated), DateUpdated: isoTime(r.DateUpdated), URL: h.base(c) + "/v1/Desk/CannedResponses/" + r.Sid}
	if r.WorkspaceSid != "" {
		out.WorkspaceSid = &r.WorkspaceSid
	}
	return out
}

// cannedParams reads WorkspaceSid, Title, Body and Tags. Tags may repeat
// (Tags=a&Tags=b) or be comma-separated; one empty Tags clears them.
func cannedParams(c *fiber.Ctx) desk.CannedParams {
	f := form{c}
	p := desk.CannedParams{WorkspaceSid: f.str("WorkspaceSid"), Title: f.str("Title"), Body: f.str("Body")}
	if raw, ok := f.strs("Tags"); ok {
		tags := []string{}
		for _, r := range raw {
			tags = append(tags, strings.Split(r, ",")...)
		}
		p.Tags = &tags
	}
	return p
}

func (h *deskAPI) createCanned(c *fiber.Ctx) error {
	r, err := h.desk.CreateCannedResponse(c.UserContext(), cannedParams(c))
	if err != nil {
		return err
	}
	return created(c, h.cannedJSON(c, r))
}

func (h *deskAPI) fetchCanned(c *fiber.Ctx) error {
	r, err := h.desk.CannedResponse(c.UserContext(), param(c, "Sid"))
	if err != nil {
		return err
	}
	return c.JSON(h.cannedJSON(c, r))
}

func (h *deskAPI) updateCanned(c *fiber.Ctx) error {
	r, err := h.desk.UpdateCannedResponse(c.UserContext(), param(c, "Sid"), cannedParams(c))
	if err != nil {
		return err
	}
	return c.JSON(h.cannedJSON(c, r))
}

func (h *deskAPI) deleteCanned(c *fiber.Ctx) error {
	if err := h.desk.DeleteCannedResponse(c.UserContext(), param(c, "Sid")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// listCanned lists canned responses by title: with WorkspaceSid, those
// that workspace's agents see (its own and the global ones); Query
// searches title and body; Tag keeps one tag.
func (h *deskAPI) listCanned(c *fiber.Ctx) error {
	pg, err := pageParams(c, 50, 1000)
	if err != nil {
		return err
	}
	f := form{c}
	var filter desk.CannedFilter
	for dst, name := range map[*string]string{&filter.WorkspaceSid: "WorkspaceSid", &filter.Query: "Query", &filter.Tag: "Tag"} {
		if v := f.str(name); v != nil {
			*dst = *v
		}
	}
	rows, more, err := h.desk.CannedResponses(c.UserContext(), filter, pg.Offset, pg.Limit)
	if err != nil {
		return err
	}
	out := make([]cannedJSON, len(rows))
	for i, r := range rows {
		out[i] = h.cannedJSON(c, r)
	}
	const key = "canned_responses"
	return c.JSON(fiber.Map{key: out, "meta": meta(c, h.base(c)+"/v1/Desk/CannedResponses", key, pg, more)})
}

type dispositionJSON struct {
	AccountSid   string `json:"account_sid"`
	Sid          string `json:"sid"`
	WorkspaceSid string `json:"workspace_sid"`
	Code         string `json:"code"`
	Label        string `json:"label"`
	Active       bool   `json:"active"`
	DateCreated  string `json:"date_created"`
	DateUpdated  string `json:"date_updated"`
	URL          string `json:"url"`
}

func (h *deskAPI) dispositionJSON(c *fiber.Ctx, d desk.Disposition) dispositionJSON {
	return dispositionJSON{AccountSid: h.conv.AccountSid(), Sid: d.Sid, WorkspaceSid: d.WorkspaceSid, Code: d.Code, Label: d.Label,
		Active: d.Active, DateCreated: isoTime(d.DateCreated), DateUpdated: isoTime(d.DateUpdated),
		URL: h.base(c) + "/v1/Desk/Dispositions/" + d.Sid}
}

func dispositionParams(c *fiber.Ctx) (desk.DispositionParams, error) {
	f := form{c}
	active, err := f.boolean("Active")
	return desk.DispositionParams{WorkspaceSid: f.str("WorkspaceSid"), Code: f.str("Code"), Label: f.str("Label"), Active: active}, err
}

func (h *deskAPI) createDisposition(c *fiber.Ctx) error {
	p, err := dispositionParams(c)
	if err != nil {
		return err
	}
	d, err := h.desk.CreateDisposition(c.UserContext(), p)
	if err != nil {
		return err
	}
	return created(c, h.dispositionJSON(c, d))
}

func (h *deskAPI) fetchDisposition(c *fiber.Ctx) error {
	d, err := h.desk.Disposition(c.UserContext(), param(c, "Sid"))
	if err != nil {
		return err
	}
	return c.JSON(h.dispositionJSON(c, d))
}

func (h *deskAPI) updateDisposition(c *fiber.Ctx) error {
	p, err := dispositionParams(c)
	if err != nil {
		return err
	}
	d, err := h.desk.UpdateDisposition(c.UserContext(), param(c, "Sid"), p)
	if err != nil {
		return err
	}
	return c.JSON(h.dispositionJSON(c, d))
}

func (h *deskAPI) deleteDisposition(c *fiber.Ctx) error {
	if err := h.desk.DeleteDisposition(c.UserContext(), param(c, "Sid")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// listDispositions lists dispositions by workspace and label; WorkspaceSid
// and Active narrow the list.
func (h *deskAPI) listDispositions(c *fiber.Ctx) error {
	pg, err := pageParams(c, 50, 1000)
	if err != nil {
		return err
	}
	f := form{c}
	var filter desk.DispositionFilter
	if v := f.str("WorkspaceSid"); v != nil {
		filter.WorkspaceSid = *v
	}
	if filter.Active, err = f.boolean("Active"); err != nil {
		return err
	}
	rows, more, err := h.desk.Dispositions(c.UserContext(), filter, pg.Offset, pg.Limit)
	if err != nil {
		return err
	}
	out := make([]dispositionJSON, len(rows))
	for i, d := range rows {
		out[i] = h.dispositionJSON(c, d)
	}
	const key = "dispositions"
	return c.JSON(fiber.Map{key: out, "meta": meta(c, h.base(c)+"/v1/Desk/Dispositions", key, pg, more)})
}
