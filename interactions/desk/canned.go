package desk

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// SidCannedResponse prefixes canned response SIDs (CN…): Switchboard's own
// resource, Twilio has none.
const SidCannedResponse = "CN"

// Canned response limits.
const (
	MaxCannedTitle = 100
	MaxCannedBody  = 4000
	MaxCannedTags  = 10
	// maxCannedShown bounds what one search returns to the picker.
	maxCannedShown = 50
)

// cannedTag is what a tag may look like: lower case, short, no quotes, so
// a tag search can match the stored JSON exactly.
var cannedTag = regexp.MustCompile(`^[a-z0-9][a-z0-9 _-]{0,31}$`)

// CannedResponse is a reply agents insert into the composer. A response
// without a workspace is global: every workspace's agents see it.
type CannedResponse struct {
	Sid          string
	WorkspaceSid string // "": global
	Title        string
	Body         string
	Tags         []string
	DateCreated  time.Time
	DateUpdated  time.Time
}

type cannedRow struct {
	Sid          string `gorm:"primaryKey"`
	WorkspaceSid string
	Title        string
	Body         string
	Tags         string // JSON array
	DateCreated  time.Time
	DateUpdated  time.Time
}

func (cannedRow) TableName() string { return "desk_canned_responses" }

func (r cannedRow) view() CannedResponse {
	c := CannedResponse{Sid: r.Sid, WorkspaceSid: r.WorkspaceSid, Title: r.Title, Body: r.Body, Tags: []string{},
		DateCreated: r.DateCreated, DateUpdated: r.DateUpdated}
	_ = json.Unmarshal([]byte(r.Tags), &c.Tags) // written by applyCanned only
	return c
}

// CannedParams are a canned response's settable fields; nil leaves one as
// is. WorkspaceSid is set at creation only ("" or absent: global).
type CannedParams struct {
	WorkspaceSid *string
	Title        *string
	Body         *string
	Tags         *[]string
}

// CreateCannedResponse adds a canned response, global or for one workspace.
func (s *Service) CreateCannedResponse(ctx context.Context, p CannedParams) (CannedResponse, error) {
	now := s.now()
	r := cannedRow{Sid: sid.New(SidCannedResponse), Tags: "[]", DateCreated: now, DateUpdated: now}
	if p.WorkspaceSid != nil && *p.WorkspaceSid != "" {
		if err := s.checkWorkspace(ctx, *p.WorkspaceSid); err != nil {
			return CannedResponse{}, err
		}
		r.WorkspaceSid = *p.WorkspaceSid
	}
	if p.Title == nil || p.Body == nil {
		return CannedResponse{}, errs.Invalidf("Title and Body are required")
	}
	if err := applyCanned(&r, p); err != nil {
		return CannedResponse{}, err
	}
	return r.view(), errs.Wrap(s.read(ctx).Create(&r).Error, "create canned response")
}

func applyCanned(r *cannedRow, p CannedParams) error {
	if p.Title != nil {
		t := strings.TrimSpace(*p.Title)
		if t == "" || utf8.RuneCountInString(t) > MaxCannedTitle {
			return errs.Invalidf("Title must be 1 to %d characters", MaxCannedTitle)
		}
		r.Title = t
	}
	if p.Body != nil {
		b := strings.TrimSpace(*p.Body)
		if b == "" || utf8.RuneCountInString(b) > MaxCannedBody {
			return errs.Invalidf("Body must be 1 to %d characters", MaxCannedBody)
		}
		r.Body = b
	}
	if p.Tags != nil {
		tags := []string{}
		for _, t := range *p.Tags {
			t = strings.ToLower(strings.TrimSpace(t))
			if t == "" {
				continue
			}
			if !cannedTag.MatchString(t) {
				return errs.Invalidf("Tag %q must be 1 to 32 letters, digits, spaces, '_' or '-'", t)
			}
			if !slices.Contains(tags, t) {
				tags = append(tags, t)
			}
		}
		if len(tags) > MaxCannedTags {
			return errs.Invalidf("A canned response takes at most %d tags", MaxCannedTags)
		}
		encoded, _ := json.Marshal(tags) // strings only: cannot fail
		r.Tags = string(encoded)
	}
	return nil
}

func (s *Service) cannedRow(ctx context.Context, cannedSid string) (cannedRow, error) {
	var r cannedRow
	res := s.read(ctx).Where("sid = ?", cannedSid).Limit(1).Find(&r)
	if res.Error != nil {
		return r, errs.Wrap(res.Error, "canned response")
	}
	if res.RowsAffected == 0 {
		return r, errs.NotFoundf("The requested resource /Desk/CannedResponses/%s was not found", cannedSid)
	}
	return r, nil
}

// CannedResponse fetches a canned response.
func (s *Service) CannedResponse(ctx context.Context, cannedSid string) (CannedResponse, error) {
	r, err := s.cannedRow(ctx, cannedSid)
	return r.view(), err
}

// UpdateCannedResponse changes a canned response's title, body or tags; its
// scope (global or a workspace) is fixed.
func (s *Service) UpdateCannedResponse(ctx context.Context, cannedSid string, p CannedParams) (CannedResponse, error) {
	if p.WorkspaceSid != nil {
		return CannedResponse{}, errs.Invalidf("WorkspaceSid cannot be changed: create the response in the other workspace")
	}
	r, err := s.cannedRow(ctx, cannedSid)
	if err != nil {
		return CannedResponse{}, err
	}
	if err := applyCanned(&r, p); err != nil {
		return CannedResponse{}, err
	}
	r.DateUpdated = s.now()
	return r.view(), errs.Wrap(s.read(ctx).Model(&r).Select("title", "body", "tags", "date_updated").Updates(&r).Error,
		"update canned response")
}

// DeleteCannedResponse removes a canned response.
func (s *Service) DeleteCannedResponse(ctx context.Context, cannedSid string) error {
	res := s.read(ctx).Where("sid = ?", cannedSid).Delete(&cannedRow{})
	if res.Error != nil {
		return errs.Wrap(res.Error, "delete canned response")
	}
	if res.RowsAffected == 0 {
		return errs.NotFoundf("The requested resource /Desk/CannedResponses/%s was not found", cannedSid)
	}
	return nil
}

// CannedFilter narrows a list of canned responses; zero values match all.
type CannedFilter struct {
	// WorkspaceSid keeps what that workspace's agents see: its own
	// responses and the global ones.
	WorkspaceSid string
	// Query matches title or body, case-insensitively, anywhere.
	Query string
	// Tag keeps responses with that tag.
	Tag string
}

// CannedResponses lists canned responses by title.
func (s *Service) CannedResponses(ctx context.Context, f CannedFilter, offset, limit int) ([]CannedResponse, bool, error) {
	q := s.read(ctx).Model(&cannedRow{})
	if f.WorkspaceSid != "" {
		q = q.Where("workspace_sid IN ?", []string{f.WorkspaceSid, ""})
	}
	if query := strings.TrimSpace(f.Query); query != "" {
		pattern := "%" + likeEscaper.Replace(strings.ToLower(query)) + "%"
		q = q.Where(`(LOWER(title) LIKE ? ESCAPE '\' OR LOWER(body) LIKE ? ESCAPE '\')`, pattern, pattern)
	}
	if tag := strings.ToLower(strings.TrimSpace(f.Tag)); tag != "" {
		encoded, _ := json.Marshal(tag) // a string: cannot fail
		q = q.Where(`tags LIKE ? ESCAPE '\'`, "%"+likeEscaper.Replace(string(encoded))+"%")
	}
	var rows []cannedRow
	if err := q.Order("LOWER(title), sid").Offset(offset).Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, false, errs.Wrap(err, "canned responses")
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	out := make([]CannedResponse, len(rows))
	for i, r := range rows {
		out[i] = r.view()
	}
	return out, more, nil
}

// likeEscaper escapes LIKE's wildcards (with \ as the ESCAPE character), so
// a search for "50%" finds "50%" and not "50 anything".
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// SearchCanned finds the canned responses the agent's workspace sees whose
// title or body match the query (all of them for an empty query), by
// title, at most 50.
func (s *Service) SearchCanned(ctx context.Context, a Agent, query string) ([]CannedResponse, error) {
	out, _, err := s.CannedResponses(ctx, CannedFilter{WorkspaceSid: a.WorkspaceSid, Query: query}, 0, maxCannedShown)
	return out, err
}
