"""`bazhong-accounts extract`: a published 部门决算 report (PDF, Word, web page, text) → draft rows
of the package, each figure located in the archived text. Rows are drafts until a person confirms
them."""
