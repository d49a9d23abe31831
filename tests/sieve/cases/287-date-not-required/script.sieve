if date "date" "year" "2022" { keep; }
