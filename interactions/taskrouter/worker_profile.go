package taskrouter

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/errs"
)

// Limits of a worker's routing profile.
const (
	MaxSkills     = 50
	MaxSkillName  = 64
	MaxSkillLevel = 100
	MaxTeamName   = 64
)

// WorkerProfile is what routing reads of a worker, in Flex's layout of its
// attributes: routing.skills, routing.levels {skill: n} and team_name, plus
// its capacity per task channel (unique name → capacity).
type WorkerProfile struct {
	Skills   []string
	Levels   map[string]int
	Team     string
	Capacity map[string]int
}

// ProfileOf reads a worker's routing profile from its attributes; the
// capacities come from its worker channels.
func ProfileOf(attributes string) WorkerProfile {
	var attrs struct {
		Routing struct {
			Skills []any          `json:"skills"`
			Levels map[string]any `json:"levels"`
		} `json:"routing"`
		Team any `json:"team_name"`
	}
	_ = json.Unmarshal([]byte(attributes), &attrs) // checked on write
	p := WorkerProfile{Levels: map[string]int{}}
	for _, s := range attrs.Routing.Skills {
		if s, ok := s.(string); ok {
			p.Skills = append(p.Skills, s)
		}
	}
	for k, v := range attrs.Routing.Levels {
		if n, ok := v.(float64); ok {
			p.Levels[k] = int(n)
		}
	}
	p.Team, _ = attrs.Team.(string)
	return p
}

// Normalize checks a profile and tidies it (skills trimmed, blanks and
// repeats dropped, the team trimmed), as UpdateWorkerProfile will.
func (p *WorkerProfile) Normalize() error {
	var skills []string
	for _, s := range p.Skills {
		s = strings.TrimSpace(s)
		switch {
		case s == "" || slices.Contains(skills, s):
			continue
		case utf8.RuneCountInString(s) > MaxSkillName:
			return errs.Invalidf("Skill %q is longer than %d characters", s, MaxSkillName)
		case strings.ContainsAny(s, "'\""):
			return errs.Invalidf("Skill %q must not contain quotes: expressions could not name it", s)
		}
		skills = append(skills, s)
	}
	if len(skills) > MaxSkills {
		return errs.Invalidf("A worker may have at most %d skills", MaxSkills)
	}
	p.Skills = skills
	for skill, n := range p.Levels {
		if !slices.Contains(skills, skill) {
			return errs.Invalidf("Level for %q: the worker does not have that skill", skill)
		}
		if n < 0 || n > MaxSkillLevel {
			return errs.Invalidf("Level for %q must be between 0 and %d", skill, MaxSkillLevel)
		}
	}
	p.Team = strings.TrimSpace(p.Team)
	if utf8.RuneCountInString(p.Team) > MaxTeamName {
		return errs.Invalidf("Team must be at most %d characters", MaxTeamName)
	}
	for channel, c := range p.Capacity {
		if c < 0 || c > MaxChannelCapacity {
			return errs.Invalidf("Capacity on %s must be between 0 and %d", channel, MaxChannelCapacity)
		}
	}
	return nil
}

// UpdateWorkerProfile sets a worker's skills, levels and team in its
// attributes (others are kept) and its capacity per task channel, through
// UpdateWorker and UpdateWorkerChannel, so routing and every listener hear
// worker.attributes.update and worker.capacity.update as from the REST API.
// Everything is checked first: bad input changes nothing.
func (e *Engine) UpdateWorkerProfile(ctx context.Context, workspaceSid, workerSid string, p WorkerProfile) (Worker, error) {
	if err := p.Normalize(); err != nil {
		return Worker{}, err
	}
	w, err := e.Worker(ctx, workspaceSid, workerSid)
	if err != nil {
		return w, err
	}
	for channel := range p.Capacity {
		if _, err := e.WorkerChannel(ctx, workspaceSid, w.Sid, channel); err != nil {
			if errs.KindOf(err) == errs.NotFound {
				return w, errs.Invalidf("%q is not a task channel of this workspace", channel)
			}
			return w, err
		}
	}
	attrs := map[string]any{}
	_ = json.Unmarshal([]byte(w.Attributes), &attrs)
	routing, _ := attrs["routing"].(map[string]any)
	if routing == nil {
		routing = map[string]any{}
	}
	skills := make([]any, len(p.Skills))
	for i, s := range p.Skills {
		skills[i] = s
	}
	levels := map[string]any{}
	for k, v := range p.Levels {
		levels[k] = v
	}
	routing["skills"], routing["levels"] = skills, levels
	attrs["routing"] = routing
	if p.Team == "" {
		delete(attrs, "team_name")
	} else {
		attrs["team_name"] = p.Team
	}
	b, _ := json.Marshal(attrs)
	if s := string(b); s != w.Attributes {
		if err := checkWorkerAttributes(&s); err != nil {
			return w, err
		}
		if w, err = e.UpdateWorker(ctx, workspaceSid, w.Sid, WorkerParams{Attributes: &s}); err != nil {
			return w, err
		}
	}
	channels := make([]string, 0, len(p.Capacity))
	for c := range p.Capacity {
		channels = append(channels, c)
	}
	slices.Sort(channels)
	for _, channel := range channels {
		wc, err := e.WorkerChannel(ctx, workspaceSid, w.Sid, channel)
		if err != nil {
			return w, err
		}
		if c := p.Capacity[channel]; c != wc.Capacity {
			if _, err := e.UpdateWorkerChannel(ctx, workspaceSid, w.Sid, channel, WorkerChannelParams{Capacity: &c}); err != nil {
				return w, err
			}
		}
	}
	return w, nil
}
