package databricks

import (
	"net/http"
	"slices"
)

// Warehouse is a SQL warehouse and who may use it.
type Warehouse struct {
	ID, Name string
	// CanUse lists grantees (user names, group names, application ids or
	// "account users") holding CAN USE.
	CanUse []string
}

// checkWarehouse verifies the warehouse exists and p holds CAN USE.
func (e *Emulator) checkWarehouse(id string, p *Principal) error {
	wh := e.warehouse(id)
	if wh == nil {
		return errNotFound("SQL warehouse " + id + " does not exist.")
	}
	if !p.memberOf(wh.CanUse) {
		return errPermissionDenied("User does not have CAN USE permission on SQL warehouse "+id+".", "WAREHOUSE_ACCESS_DENIED")
	}
	return nil
}

func (e *Emulator) warehouse(id string) *Warehouse {
	for i := range e.cfg.Warehouses {
		if e.cfg.Warehouses[i].ID == id {
			return &e.cfg.Warehouses[i]
		}
	}
	return nil
}

type warehouseJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	State       string `json:"state"`
	ClusterSize string `json:"cluster_size"`
	Type        string `json:"warehouse_type"`
	Serverless  bool   `json:"enable_serverless_compute"`
	AutoStop    int    `json:"auto_stop_mins"`
}

func toWarehouseJSON(wh *Warehouse) warehouseJSON {
	return warehouseJSON{ID: wh.ID, Name: wh.Name, State: "RUNNING", ClusterSize: "2X-Small", Type: "PRO", Serverless: true, AutoStop: 10}
}

// handleListWarehouses lists the warehouses the caller may use.
func (e *Emulator) handleListWarehouses(w http.ResponseWriter, _ *http.Request, p *Principal) {
	out := struct {
		Warehouses []warehouseJSON `json:"warehouses"`
	}{Warehouses: []warehouseJSON{}}
	for i := range e.cfg.Warehouses {
		if p.memberOf(e.cfg.Warehouses[i].CanUse) {
			out.Warehouses = append(out.Warehouses, toWarehouseJSON(&e.cfg.Warehouses[i]))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *Emulator) handleGetWarehouse(w http.ResponseWriter, r *http.Request, p *Principal) {
	id := r.PathValue("id")
	if err := e.checkWarehouse(id, p); err != nil {
		e.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toWarehouseJSON(e.warehouse(id)))
}

// demoWarehouses: everyone with a demo role may use dev-warehouse (Nina,
// who has no grants at all, may not); only admins may use locked-warehouse,
// so tests can hit "no CAN USE" with any ordinary person.
func demoWarehouses() []Warehouse {
	return []Warehouse{
		{ID: DevWarehouseID, Name: "Dev Serverless Warehouse", CanUse: slices.Clone(demoRoleGroups)},
		{ID: LockedWarehouseID, Name: "Locked Warehouse", CanUse: []string{"admins"}},
	}
}
