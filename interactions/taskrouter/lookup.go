package taskrouter

import (
	"gorm.io/gorm"

	"github.com/switchboardhq/switchboard/internal/errs"
)

// findWorkspace loads a workspace.
func (e *Engine) findWorkspace(q *gorm.DB, workspaceSid string) (Workspace, error) {
	var ws Workspace
	res := q.Where("sid = ?", workspaceSid).Limit(1).Find(&ws)
	if res.Error != nil {
		return ws, errs.Wrap(res.Error, "workspace")
	}
	if res.RowsAffected == 0 {
		return ws, notFound("Workspaces", workspaceSid)
	}
	return ws, nil
}

// findWorker loads a worker of the workspace.
func (e *Engine) findWorker(q *gorm.DB, workspaceSid, workerSid string) (Worker, error) {
	var w Worker
	res := q.Where("workspace_sid = ? AND sid = ?", workspaceSid, workerSid).Limit(1).Find(&w)
	if res.Error != nil {
		return w, errs.Wrap(res.Error, "worker")
	}
	if res.RowsAffected == 0 {
		return w, notFound("Workers", workerSid)
	}
	return w, nil
}
