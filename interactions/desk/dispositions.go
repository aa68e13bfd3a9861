package desk

import (
	"context"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// SidDisposition prefixes disposition SIDs (DI…): Switchboard's own
// resource, Twilio has none.
const SidDisposition = "DI"

// MaxDispositionLabel bounds a disposition's label.
const MaxDispositionLabel = 100

// dispositionCode is what a code may look like: it lands in task
// attributes and reports, so plain and short.
var dispositionCode = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// Disposition is an outcome of a workspace's conversations that agents pick
// when they complete a task.
type Disposition struct {
	Sid          string
	WorkspaceSid string
	Code         string // in the completed task's attributes
	Label        string // what agents see
	Active       bool   // offered to agents; inactive ones stay for history
	DateCreated  time.Time
	DateUpdated  time.Time
}

type dispositionRow struct {
	Sid          string `gorm:"primaryKey"`
	WorkspaceSid string
	Code         string
	Label        string
	Active       bool
	DateCreated  time.Time
	DateUpdated  time.Time
}

func (dispositionRow) TableName() string { return "desk_dispositions" }

func (r dispositionRow) view() Disposition { return Disposition(r) }

// DispositionParams are a disposition's settable fields; nil leaves one as
// is. WorkspaceSid and Code are set at creation only.
type DispositionParams struct {
	WorkspaceSid *string
	Code         *string
	Label        *string
	Active       *bool
}

// CreateDisposition adds an outcome to a workspace's list; it starts
// active unless told otherwise.
func (s *Service) CreateDisposition(ctx context.Context, p DispositionParams) (Disposition, error) {
	if p.WorkspaceSid == nil || *p.WorkspaceSid == "" {
		return Disposition{}, errs.Invalidf("WorkspaceSid is required")
	}
	if err := s.checkWorkspace(ctx, *p.WorkspaceSid); err != nil {
		return Disposition{}, err
	}
	if p.Code == nil || !dispositionCode.MatchString(*p.Code) {
		return Disposition{}, errs.Invalidf("Code is required: 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit")
	}
	if p.Label == nil {
		return Disposition{}, errs.Invalidf("Label is required")
	}
	now := s.now()
	r := dispositionRow{Sid: sid.New(SidDisposition), WorkspaceSid: *p.WorkspaceSid, Code: *p.Code, Active: true,
		DateCreated: now, DateUpdated: now}
	if err := applyDisposition(&r, p); err != nil {
		return Disposition{}, err
	}
	if err := s.read(ctx).Create(&r).Error; err != nil {
		if db.IsUniqueViolation(err) {
			return Disposition{}, errs.E(errs.Conflict, errs.CodeInvalidParam, "Workspace %s already has a disposition with code %q",
				r.WorkspaceSid, r.Code)
		}
		return Disposition{}, errs.Wrap(err, "create disposition")
	}
	return r.view(), nil
}

func applyDisposition(r *dispositionRow, p DispositionParams) error {
	if p.Label != nil {
		label := strings.TrimSpace(*p.Label)
		if label == "" || utf8.RuneCountInString(label) > MaxDispositionLabel {
			return errs.Invalidf("Label must be 1 to %d characters", MaxDispositionLabel)
		}
		r.Label = label
	}
	if p.Active != nil {
		r.Active = *p.Active
	}
	return nil
}

// checkWorkspace refuses a WorkspaceSid that names no workspace.
func (s *Service) checkWorkspace(ctx context.Context, workspaceSid string) error {
	_, err := s.tr.Workspace(ctx, workspaceSid)
	if errs.KindOf(err) == errs.NotFound {
		return errs.Invalidf("WorkspaceSid %s is not a workspace", workspaceSid)
	}
	return err
}

func (s *Service) dispositionRow(ctx context.Context, dispositionSid string) (dispositionRow, error) {
	var r dispositionRow
	res := s.read(ctx).Where("sid = ?", dispositionSid).Limit(1).Find(&r)
	if res.Error != nil {
		return r, errs.Wrap(res.Error, "disposition")
	}
	if res.RowsAffected == 0 {
		return r, errs.NotFoundf("The requested resource /Desk/Dispositions/%s was not found", dispositionSid)
	}
	return r, nil
}

// Disposition fetches a disposition.
func (s *Service) Disposition(ctx context.Context, dispositionSid string) (Disposition, error) {
	r, err := s.dispositionRow(ctx, dispositionSid)
	return r.view(), err
}

// UpdateDisposition relabels a disposition or switches it on or off. Its
// workspace and code are fixed: completed tasks carry the code.
func (s *Service) UpdateDisposition(ctx context.Context, dispositionSid string, p DispositionParams) (Disposition, error) {
	if p.WorkspaceSid != nil || p.Code != nil {
		return Disposition{}, errs.Invalidf("WorkspaceSid and Code cannot be changed: create another disposition and deactivate this one")
	}
	r, err := s.dispositionRow(ctx, dispositionSid)
	if err != nil {
		return Disposition{}, err
	}
	if err := applyDisposition(&r, p); err != nil {
		return Disposition{}, err
	}
	r.DateUpdated = s.now()
	return r.view(), errs.Wrap(s.read(ctx).Model(&r).Select("label", "active", "date_updated").Updates(&r).Error, "update disposition")
}

// DeleteDisposition removes a disposition. Tasks completed with it keep
// its code in their attributes.
func (s *Service) DeleteDisposition(ctx context.Context, dispositionSid string) error {
	res := s.read(ctx).Where("sid = ?", dispositionSid).Delete(&dispositionRow{})
	if res.Error != nil {
		return errs.Wrap(res.Error, "delete disposition")
	}
	if res.RowsAffected == 0 {
		return errs.NotFoundf("The requested resource /Desk/Dispositions/%s was not found", dispositionSid)
	}
	return nil
}

// DispositionFilter narrows a list of dispositions; zero values match all.
type DispositionFilter struct {
	WorkspaceSid string
	Active       *bool
}

// Dispositions lists dispositions by workspace, then label.
func (s *Service) Dispositions(ctx context.Context, f DispositionFilter, offset, limit int) ([]Disposition, bool, error) {
	q := s.read(ctx).Model(&dispositionRow{})
	if f.WorkspaceSid != "" {
		q = q.Where("workspace_sid = ?", f.WorkspaceSid)
	}
	if f.Active != nil {
		q = q.Where("active = ?", *f.Active)
	}
	var rows []dispositionRow
	if err := q.Order("workspace_sid, label, sid").Offset(offset).Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, false, errs.Wrap(err, "dispositions")
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	out := make([]Disposition, len(rows))
	for i, r := range rows {
		out[i] = r.view()
	}
	return out, more, nil
}

// activeDispositions lists what an agent of the workspace may pick.
func (s *Service) activeDispositions(ctx context.Context, workspaceSid string) ([]Disposition, error) {
	active := true
	out, _, err := s.Dispositions(ctx, DispositionFilter{WorkspaceSid: workspaceSid, Active: &active}, 0, maxListed)
	return out, err
}
