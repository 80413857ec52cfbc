package web

import (
	"bytes"
	"fmt"

	"jukinet/internal/approval"
	"jukinet/internal/report"
)

// statusPDF renders a status report as PDF, issued now by the department.
func (s *Server) statusPDF(st approval.Status) ([]byte, error) {
	issuer := s.node.Info.LocalGov.Name + " " + st.DepartmentName
	var b bytes.Buffer
	if err := report.WritePDF(&b, st.Document(issuer, s.node.Now())); err != nil {
		return nil, fmt.Errorf("render status report of approval %d: %w", st.Approval.ID, err)
	}
	return b.Bytes(), nil
}
