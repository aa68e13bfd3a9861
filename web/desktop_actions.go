package web

import (
	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/interactions/desk"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/views/desktop"
)

// deskActions serves the desktop's actions on an open conversation:
// transfer, End chat, Complete, the context panel and its notes, canned
// responses and WhatsApp templates. Every handler acts for the signed-in
// agent through the desk, which finds a conversation they never held not
// found; the /desktop group's guards have checked the session, CSRF and
// the agent's worker.
type deskActions struct {
	*agentDesktop
}

// addDesktopActionRoutes mounts the actions under the canvas's path
// (/desktop/c/:Sid/…) on the desktop's guarded group.
func addDesktopActionRoutes(g fiber.Router, d *agentDesktop) {
	h := deskActions{d}
	g.Get("/c/:Sid/transfer", h.transferDialog)
	g.Post("/c/:Sid/transfer", h.transfer)
	g.Post("/c/:Sid/transfer/cancel", h.cancelTransfer)
	g.Post("/c/:Sid/end", h.endChat)
	g.Get("/c/:Sid/complete", h.completeDialog)
	g.Post("/c/:Sid/complete", h.complete)
	g.Get("/c/:Sid/context", h.context)
	g.Post("/c/:Sid/notes", h.addNote)
	g.Get("/c/:Sid/canned", h.canned)
	g.Get("/c/:Sid/templates", h.templates)
	g.Post("/c/:Sid/templates", h.sendTemplate)
}

// refused reports whether err is the agent's input or the task's state
// getting in the way (shown in the form, with its status), rather than a
// missing conversation or a failure (the page's notice: fail).
func refused(err error) bool {
	k := errs.KindOf(err)
	return k == errs.Invalid || k == errs.Conflict || k == errs.TooLarge
}

// renderRefusal renders a form again with why it was refused, under the
// error's status.
func renderRefusal(c *fiber.Ctx, err error, component templ.Component) error {
	c.Status(statusOf(errs.KindOf(err)))
	return render(c, component)
}

func (h deskActions) transferDialog(c *fiber.Ctx) error {
	choices, err := h.desk.TransferChoices(c.UserContext(), agentOf(c), c.Params("Sid"))
	if err != nil {
		return h.fail(c, err)
	}
	return render(c, desktop.TransferDialog(choices, desktop.TransferForm{}))
}

func (h deskActions) transfer(c *fiber.Ctx) error {
	a, sid := agentOf(c), c.Params("Sid")
	f := desktop.TransferForm{To: c.FormValue("to"), Type: c.FormValue("type"), Note: c.FormValue("note")}
	_, err := h.desk.Transfer(c.UserContext(), a, sid, desk.TransferRequest{To: f.To, Type: f.Type, Note: f.Note})
	if refused(err) {
		choices, cerr := h.desk.TransferChoices(c.UserContext(), a, sid)
		if cerr != nil {
			return h.fail(c, err) // no longer in the conversation: say that, not the dialog
		}
		f.Error = errs.As(err).Message
		return renderRefusal(c, err, desktop.TransferDialog(choices, f))
	}
	if err != nil {
		return h.fail(c, err)
	}
	// The dialog now shows the transfer waiting, with its Cancel button.
	choices, err := h.desk.TransferChoices(c.UserContext(), a, sid)
	if err != nil {
		return h.fail(c, err)
	}
	return render(c, desktop.TransferDialog(choices, desktop.TransferForm{}))
}

func (h deskActions) cancelTransfer(c *fiber.Ctx) error {
	if err := h.desk.CancelTransfer(c.UserContext(), agentOf(c), c.Params("Sid")); err != nil {
		return h.fail(c, err)
	}
	return render(c, desktop.TransferCanceled())
}

// endChat answers with the action bar as it is once the task is wrapping.
func (h deskActions) endChat(c *fiber.Ctx) error {
	sid := c.Params("Sid")
	if err := h.desk.EndChat(c.UserContext(), agentOf(c), sid); err != nil {
		return h.fail(c, err)
	}
	return render(c, desktop.Actions(sid, desk.StateWrapping))
}

func (h deskActions) completeDialog(c *fiber.Ctx) error {
	f, err := h.desk.CompleteForm(c.UserContext(), agentOf(c), c.Params("Sid"))
	if err != nil {
		return h.fail(c, err)
	}
	return render(c, desktop.CompleteDialog(f, desktop.CompleteValues{}))
}

func (h deskActions) complete(c *fiber.Ctx) error {
	a, sid := agentOf(c), c.Params("Sid")
	v := desktop.CompleteValues{Disposition: c.FormValue("disposition"), Note: c.FormValue("note")}
	// The form is read before completing: afterwards the task has nothing
	// to complete and the form could not be shown again.
	form, err := h.desk.CompleteForm(c.UserContext(), a, sid)
	if err != nil {
		return h.fail(c, err)
	}
	err = h.desk.Complete(c.UserContext(), a, sid, desk.CompleteRequest{Disposition: v.Disposition, Note: v.Note})
	if refused(err) {
		v.Error = errs.As(err).Message
		return renderRefusal(c, err, desktop.CompleteDialog(form, v))
	}
	if err != nil {
		return h.fail(c, err)
	}
	return render(c, desktop.Completed())
}

func (h deskActions) context(c *fiber.Ctx) error {
	cc, err := h.desk.CustomerContext(c.UserContext(), agentOf(c), c.Params("Sid"))
	if err != nil {
		return h.fail(c, err)
	}
	return render(c, desktop.ContextPanel(cc))
}

// addNote answers with the notes section, the new note in it.
func (h deskActions) addNote(c *fiber.Ctx) error {
	a, sid := agentOf(c), c.Params("Sid")
	body := c.FormValue("body")
	_, err := h.desk.AddNote(c.UserContext(), a, sid, body)
	if err != nil && !refused(err) {
		return h.fail(c, err)
	}
	notes, nerr := h.desk.Notes(c.UserContext(), a, sid)
	if nerr != nil {
		return h.fail(c, nerr)
	}
	if err != nil {
		return renderRefusal(c, err, desktop.Notes(sid, notes, desktop.NoteDraft{Body: body, Error: errs.As(err).Message}))
	}
	return render(c, desktop.Notes(sid, notes, desktop.NoteDraft{}))
}

func (h deskActions) canned(c *fiber.Ctx) error {
	sid, q := c.Params("Sid"), c.Query("q")
	// The picker belongs to a conversation: one the agent never held shows
	// nothing, not even the workspace's responses.
	if err := h.desk.Allowed(c.UserContext(), agentOf(c), sid); err != nil {
		return h.fail(c, err)
	}
	results, err := h.desk.SearchCanned(c.UserContext(), agentOf(c), q)
	if err != nil {
		return h.fail(c, err)
	}
	return render(c, desktop.CannedResults(sid, q, results))
}

func (h deskActions) templates(c *fiber.Ctx) error {
	p, err := h.desk.TemplatePicker(c.UserContext(), agentOf(c), c.Params("Sid"))
	if err != nil {
		return h.fail(c, err)
	}
	return render(c, desktop.TemplatePicker(p, desktop.TemplateValues{}))
}

// sendTemplate sends a template and answers with the picker again: still
// shown (the window opens only when the customer writes), with a
// confirmation or why the template was refused.
func (h deskActions) sendTemplate(c *fiber.Ctx) error {
	a, sid := agentOf(c), c.Params("Sid")
	v := desktop.TemplateValues{ContentSid: c.FormValue("content_sid")}
	for _, raw := range c.Request().PostArgs().PeekMulti("variable") {
		v.Variables = append(v.Variables, string(raw))
	}
	err := h.desk.SendTemplate(c.UserContext(), a, sid, v.ContentSid, v.Variables)
	if err != nil && !refused(err) {
		return h.fail(c, err)
	}
	p, perr := h.desk.TemplatePicker(c.UserContext(), a, sid)
	if perr != nil {
		return h.fail(c, perr)
	}
	if err != nil {
		v.Error = errs.As(err).Message
		return renderRefusal(c, err, desktop.TemplatePicker(p, v))
	}
	return render(c, desktop.TemplatePicker(p, desktop.TemplateValues{Sent: "Template sent."}))
}
