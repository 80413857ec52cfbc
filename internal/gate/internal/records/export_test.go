package records

// LikeEscape is likeEscape, for the external fuzz target.
var LikeEscape = likeEscape
