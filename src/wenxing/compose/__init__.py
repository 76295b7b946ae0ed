"""组稿: a member's basket of pieces (sections of materials) and the drafts made from it."""
