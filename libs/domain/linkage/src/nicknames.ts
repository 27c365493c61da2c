/**
 * Given-name groups: a canonical name and the nicknames and spelling variants recorded for it, all in
 * `normaliseAscii` form. Where a nickname serves two names (Sam: Samuel and Samantha; Chris:
 * Christopher and Christine; Alex, Pat, Steve) the names share one group, so every spelling of the
 * person's name gets the same canonical form; add the sex to a recipe to tell such names apart.
 * Changing this table changes keys: bump `KEY_ALGORITHM_VERSION` (key-recipe.ts).
 */
export const NICKNAME_GROUPS: Readonly<Record<string, readonly string[]>> = {
  abigail: ['abby', 'abbie'],
  alexander: ['alex', 'alexandra', 'sasha', 'xander', 'alec'],
  andrew: ['andy', 'drew'],
  anthony: ['tony', 'antony'],
  barbara: ['barb', 'barbie', 'babs'],
  benjamin: ['ben', 'benny', 'benji'],
  charles: ['charlie', 'chuck', 'chas', 'chaz'],
  christopher: ['chris', 'topher', 'christine', 'christina', 'chrissy', 'kristine', 'kristina'],
  cynthia: ['cindy'],
  daniel: ['dan', 'danny'],
  david: ['dave', 'davey', 'davy'],
  deborah: ['deb', 'debbie', 'debby', 'debra'],
  donald: ['don', 'donnie', 'donny'],
  dorothy: ['dot', 'dottie', 'dolly'],
  edward: ['ed', 'eddie', 'eddy', 'ted', 'teddy', 'ned'],
  elizabeth: ['liz', 'lizzie', 'lizzy', 'beth', 'betty', 'bette', 'eliza', 'libby', 'bess', 'bessie', 'elisabeth'],
  frederick: ['fred', 'freddie', 'freddy', 'frederic'],
  gabriel: ['gabe'],
  gabrielle: ['gaby', 'gabby'],
  gerald: ['gerry', 'jerry'],
  gregory: ['greg'],
  isabella: ['bella', 'izzy'],
  jacob: ['jake'],
  jacqueline: ['jackie', 'jacquie'],
  james: ['jim', 'jimmy', 'jamie', 'jimmie'],
  jeffrey: ['jeff', 'geoffrey', 'geoff', 'jeffery'],
  jennifer: ['jen', 'jenny', 'jenn', 'jennie'],
  jessica: ['jess', 'jessie'],
  john: ['jack', 'johnny', 'jonny'],
  jonathan: ['jon', 'jonathon'],
  joseph: ['joe', 'joey'],
  josephine: ['jo', 'josie'],
  joshua: ['josh'],
  katherine: ['kate', 'kathy', 'katie', 'kathryn', 'katy', 'kat', 'catherine', 'cathy', 'cate'],
  kenneth: ['ken', 'kenny'],
  kimberly: ['kim', 'kimberley'],
  lawrence: ['larry', 'laurence', 'laurie'],
  leonard: ['len', 'lenny', 'lennie'],
  madison: ['maddie', 'maddy'],
  margaret: ['maggie', 'peggy', 'meg', 'marge', 'margie'],
  matthew: ['matt', 'matty'],
  michael: ['mike', 'mikey', 'mick', 'mickey'],
  nathaniel: ['nate'],
  nicholas: ['nick', 'nicky'],
  olivia: ['liv', 'livvy'],
  patrick: ['pat', 'paddy', 'patricia', 'patty', 'patti', 'trish', 'tricia', 'trisha'],
  raymond: ['ray'],
  rebecca: ['becky', 'becca', 'beckie'],
  richard: ['rick', 'ricky', 'rich', 'richie', 'dick'],
  robert: ['bob', 'bobby', 'rob', 'robbie', 'robby', 'bobbie'],
  ronald: ['ron', 'ronnie', 'ronny'],
  samuel: ['sam', 'sammy', 'samantha', 'sammie'],
  steven: ['steve', 'stephen', 'stevie', 'stevan'],
  susan: ['sue', 'susie', 'suzy', 'suzanne'],
  theresa: ['terry', 'tess', 'tessa', 'teresa', 'terri'],
  thomas: ['tom', 'tommy', 'thom'],
  timothy: ['tim', 'timmy'],
  victoria: ['vicky', 'vicki', 'tori', 'vikki'],
  vincent: ['vince', 'vinny'],
  william: ['bill', 'billy', 'will', 'willy', 'willie', 'billie'],
  zachary: ['zach', 'zack', 'zak'],
};

const CANONICAL = new Map<string, string>(
  Object.entries(NICKNAME_GROUPS).flatMap(([canonical, variants]) => [
    [canonical, canonical] as [string, string],
    ...variants.map((variant): [string, string] => [variant, canonical]),
  ]),
);

/**
 * The canonical given name of an `normaliseAscii`-normalised name (`bill` → `william`), or the name
 * itself when it is in no group.
 */
export function canonicalGivenName(asciiName: string): string {
  return CANONICAL.get(asciiName) ?? asciiName;
}
