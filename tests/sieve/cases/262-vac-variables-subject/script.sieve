require ["vacation", "variables"];
if header :matches "subject" "Weekly *" { set "s" "${1}"; }
vacation :subject "Re: ${s}" "Got your ${s}.";
