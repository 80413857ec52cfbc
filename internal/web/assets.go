package web

import (
	"net/http"
	"time"

	"jukinet/internal/asset"
	"jukinet/internal/jptext"
)

// The information assets screen (情報資産, aomori-pref:4.2, 4.3, 5;
// koto-ward:14): the register, the terminals approved in staff included,
// and the forms to register and retire an asset (behind the biometric
// re-check). Which kinds a person may register is the policies' answer.
func (s *Server) assetRoutes() {
	s.mux.HandleFunc("GET /assets", s.signedIn(s.assetsPage))
	s.mux.HandleFunc("POST /assets", s.signedIn(s.addAsset))
	s.mux.HandleFunc("POST /assets/retire", s.signedIn(s.retireAsset))
}

// assetRow is an asset as the screen shows it.
type assetRow struct {
	asset.Asset
	KindName, MethodName, DepartmentName string
}

// kindOption is a kind the signed-in person may register.
type kindOption struct{ Kind, Name string }

func (s *Server) assetsPage(w http.ResponseWriter, r *http.Request, c *current) {
	s.renderAssets(w, r, c, http.StatusOK, typedForm{})
}

// assetInputs are the inputs of the assets screen's forms, in the order
// they appear.
var assetInputs = map[string]formInputs{
	"add": {order: []string{"kind", "id", "name", "location", "manager", "installed", "holds_data"}},
	"retire": {order: []string{"id", "date", "reason", "method", "erased_by", "witness", "erased"},
		rename: map[string]string{"retired": "date"}},
}

// assetRefused answers a form of the assets screen refused with err: the
// screen again, the error at its input (refusedAt).
func (s *Server) assetRefused(w http.ResponseWriter, r *http.Request, c *current, form string, err error) bool {
	return s.refusedAt(w, r, form, assetInputs[form], err, func(status int, t typedForm) { s.renderAssets(w, r, c, status, t) })
}

// renderAssets shows the assets screen; typed, when set, is the form
// refused, shown again with its error at its input.
func (s *Server) renderAssets(w http.ResponseWriter, r *http.Request, c *current, status int, typed typedForm) {
	ctx := r.Context()
	if !s.allowed(w, r, c, asset.ActView, s.nodeResource()) {
		return
	}
	wd := s.wordsFor(r)
	list, err := s.node.Assets.List(ctx)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	// The kinds this person may manage, and so the assets they may retire.
	var kinds []kindOption
	mayKind := map[asset.Kind]bool{}
	for _, k := range asset.Kinds {
		if s.may(ctx, c, k.Action, s.nodeResource()) {
			kinds = append(kinds, kindOption{Kind: string(k.Kind), Name: wd.pick(k.Japanese, k.English)})
			mayKind[k.Kind] = true
		}
	}
	var rows []assetRow
	var retirable []assetRow
	for _, a := range list {
		k, _ := asset.KindOf(a.Kind)
		row := assetRow{Asset: a, KindName: wd.pick(k.Japanese, k.English)}
		if a.Department != "" {
			row.DepartmentName = wd.dept(a.Department)
		}
		if a.Retired != nil && a.Retired.Erasure != nil {
			row.MethodName = wd.pick(asset.MethodJapanese(a.Retired.Erasure.Method), string(a.Retired.Erasure.Method))
		}
		rows = append(rows, row)
		if a.InUse() && mayKind[a.Kind] {
			retirable = append(retirable, row)
		}
	}
	people, err := s.node.Staff.People(ctx)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	var active []any
	for _, p := range people {
		if p.Active {
			active = append(active, map[string]string{"VerificationID": p.VerificationID, "Name": p.Name, "Department": wd.dept(p.Department)})
		}
	}
	var methods []kindOption
	for _, m := range asset.Methods {
		methods = append(methods, kindOption{Kind: string(m.Method), Name: wd.pick(m.Japanese, string(m.Method))})
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	s.page(w, r, c, "assets", "Assets", map[string]any{
		"Typed": typed, "Rows": rows, "Kinds": kinds, "Retirable": retirable, "People": active, "Methods": methods,
		"Today":   s.node.Now().In(jptext.JST).Format(time.DateOnly),
		"MaxName": asset.FieldName.Max, "MaxLocation": asset.FieldLocation.Max, "MaxReason": asset.FieldRetireReason.Max, "MaxErasedBy": asset.FieldErasedBy.Max,
	})
}

// addAsset registers an asset from the form: decided by the policies,
// logged; bad input is refused at its field, and nothing is stored.
func (s *Server) addAsset(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.recentlyVerified(w, r, c, "/assets") {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.problem(w, r, err)
		return
	}
	day, err := jptext.ParseDay("installed", "設置日", r.FormValue("installed"))
	if err == nil {
		err = s.node.Assets.Add(r.Context(), c.who(), asset.Asset{ID: r.FormValue("id"), Kind: asset.Kind(r.FormValue("kind")),
			Name: r.FormValue("name"), Location: r.FormValue("location"), Manager: r.FormValue("manager"), InstalledOn: day,
			HoldsData: r.FormValue("holds_data") != ""})
	}
	if s.assetRefused(w, r, c, "add", err) {
		return
	}
	http.Redirect(w, r, "/assets", http.StatusSeeOther)
}

// retireAsset retires an asset from the form, with the erasure of its
// media when given; one that holds data is refused without it.
func (s *Server) retireAsset(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.recentlyVerified(w, r, c, "/assets") {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.problem(w, r, err)
		return
	}
	day, err := jptext.ParseDay("retired", "廃止日", r.FormValue("date"))
	ret := asset.Retirement{Day: day, Reason: r.FormValue("reason")}
	if m := r.FormValue("method"); err == nil && m != "" {
		var erased time.Time
		erased, err = jptext.ParseDay("erased", "消去・破壊の実施日", r.FormValue("erased"))
		ret.Erasure = &asset.Erasure{Method: asset.Method(m), By: r.FormValue("erased_by"), Witness: r.FormValue("witness"), Day: erased}
	}
	if err == nil {
		err = s.node.Assets.Retire(r.Context(), c.who(), r.FormValue("id"), ret)
	}
	if s.assetRefused(w, r, c, "retire", err) {
		return
	}
	http.Redirect(w, r, "/assets", http.StatusSeeOther)
}
